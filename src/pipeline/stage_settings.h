// pipeline/stage_settings.h — one run folder holds one kind of output: a stage that resumes in a folder whose
// earlier run used other settings or inputs would mix two kinds of rows in one store. Each item stage records what
// its outputs depend on in <run>/<stage>.settings.txt (store/output_fingerprint.h) and claims the folder with it.
#pragma once
#include <string>
#include <vector>

#include "pipeline/stage_run.h"

namespace s3e {

// Rank 0 only. With stage.fresh, removes `outputs` (folders or files relative to the run folder) and the ledger's
// items/; otherwise throws UsageError when <run>/<stage.stage>.settings.txt exists and differs from `settings`
// (`what` says what differs, e.g. "an edit with other settings or inputs"). Then writes the file.
void stage_settings_claim(const StageRun& stage, const std::string& settings, const std::vector<std::string>& outputs,
                          const std::string& what);

}  // namespace s3e
