// comm_mpi.h — the mpi backend: collectives on CPU buffers over a private duplicate of MPI_COMM_WORLD (so that
// library traffic can never match user collectives), plus a second duplicate for the debug-mode signature check.
// Non-blocking allreduce is MPI_Iallreduce; with MPI_THREAD_FUNNELED it progresses only inside MPI calls, so
// callers poll test() (the gradient reducer does so from its backward hooks). Point-to-point messages are
// MPI_Send / MPI_Recv / MPI_Iprobe on the same private communicator (MPI keeps point-to-point and collective
// traffic apart within one communicator, and the dup keeps it apart from any other library's tags).
#pragma once
#include <mpi.h>

#include "dist/communicator.h"

namespace s3e {

class Heartbeat;

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(CommOptions options = {}, MPI_Comm parent = MPI_COMM_WORLD);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  MPI_Comm handle() const { return comm_; }

 protected:
  std::unique_ptr<CommWork> do_allreduce(void* data, size_t count, DType dtype, ReduceOp op, bool async) override;
  void do_broadcast(void* data, size_t count, DType dtype, int root) override;
  void do_allgather(const void* send, void* recv, size_t count, DType dtype) override;
  void do_barrier() override;
  std::vector<CollectiveSignature> do_gather_signatures(const CollectiveSignature& mine) override;
  void do_send(const void* data, size_t count, DType dtype, int dest, int tag) override;
  CommMessage do_recv(void* data, size_t count, DType dtype, int source, int tag) override;
  std::optional<CommMessage> do_iprobe(int source, int tag, DType dtype) override;

 private:
  size_t chunk_elements(DType dtype) const;  // elements per MPI message for allreduce and broadcast

  MPI_Comm comm_ = MPI_COMM_NULL, check_comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::unique_ptr<Heartbeat> heartbeat_;  // options().heartbeat_interval_s > 0 and several ranks
};

MPI_Datatype mpi_datatype_of(DType dtype);
// Throws TransientError "<what> failed: <MPI error string>" when rc is not MPI_SUCCESS.
void mpi_check(int rc, const char* what);

}  // namespace s3e
