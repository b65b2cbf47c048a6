# Stage "tcp" (sourced by scripts/test.sh): the MPI suites once more, on the
# main build ($DT_BUILD, no rebuild), with Open MPI forced onto TCP
# (btl self,tcp over the loopback, pml ob1) and cross-memory attach off
# (DT_NO_CMA=1): the messages of a multi-node job, on one node. ctest passes
# the environment through (the tests set neither variable themselves).
# The suites at 2, 3 and 4 ranks (1 rank sends no messages). Waiting ranks
# yield their core (OMPI_MCA_mpi_yield_when_idle=1). Measured on the 2-core
# machine: 47 tests in 53 s under a load of ~8; 577 s under a load of ~30
# (all passed both times).
if dt_stage_wanted tcp; then
  OMPI_MCA_btl=self,tcp OMPI_MCA_pml=ob1 OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_mpi_yield_when_idle=1 \
    OMPI_MCA_btl_tcp_disable_family=6 DT_NO_CMA=1 \
    dt_stage_ctest tcp "$DT_BUILD" -R '^test_.*\.np[234]$'
fi
