# Stage "tcp" (sourced by scripts/test.sh): the MPI suites once more, on the
# main build ($DT_BUILD, no rebuild), with Open MPI forced onto TCP
# (btl self,tcp over the loopback, pml ob1) and cross-memory attach off
# (DT_NO_CMA=1): the messages of a multi-node job, on one node. ctest passes
# the environment through (the tests set neither variable themselves).
# Trimmed to fit: the suites at 2 and 4 ranks (1 rank sends no messages),
# test_autograd left out (its collectives are matmul's and the sums', which
# test_fault, test_exact and test_checksum also cross). Measured on the
# 2-core machine under a load of ~30 (others' builds and tests): all suites
# at 2-4 ranks took 577 s (47 tests, all passed), test_autograd 550 s of the
# summed test time.
if dt_stage_wanted tcp; then
  OMPI_MCA_btl=self,tcp OMPI_MCA_pml=ob1 OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_mpi_yield_when_idle=1 \
    OMPI_MCA_btl_tcp_disable_family=6 DT_NO_CMA=1 \
    dt_stage_ctest tcp "$DT_BUILD" -R '^test_.*\.np[24]$' -E '^test_autograd'
fi
