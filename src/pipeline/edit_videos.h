// pipeline/edit_videos.h — `s3editor edit --videos`: bulk editing of the face videos an ingested store names
// (docs/cli.md, "edit"). Each video of the store's video table is one work item (pipeline/edit_video_item.h):
// its faces are edited with the recipe (strengths in the backbone's units by default), decoded, pasted back and
// encoded with the source's timestamps and audio. Items are handed out over the ranks by the work queue, largest
// first, and committed through the item ledger, so a killed or requeued run resumes without redoing finished
// videos, on any rank count, and a bad video (ingest failed on it, changed since, undecodable) fails alone with its
// reason (<run>/failed.csv; exit code 3). Rank 0 then writes the run's index at `out`: a latent store of the edited
// latents (one row per edited face and frame) that eval-latent and export-npy read, with the video table and the
// edited videos' paths.
#pragma once
#include "core/config.h"
#include "dist/communicator.h"
#include "pipeline/edit_store.h"

namespace s3e {

// The same inputs as the latent-store mode: the store (an ingested one), the editor, the index to write.
using EditVideosOptions = EditStoreOptions;

// Keys of the video mode (edit.videos, edit.units, edit.tracks, edit.smooth_sigma, edit.codec, ...).
void pipeline_edit_videos_add_config(ConfigSchema& schema);
int pipeline_edit_videos_run(Communicator& comm, const EditVideosOptions& options);

}  // namespace s3e
