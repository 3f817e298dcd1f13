//! Leader election: several replicas of `kev run`, one active. [`LeaderElector`] holds
//! a `coordination.k8s.io/v1` Lease with client-go's semantics; [`run_elected`] runs
//! the pipeline while this replica leads, and ends the run when the Lease is lost.

mod elector;
mod run;

pub use elector::{
    HoldEnd, LeaderElector, LeaderError, LeaderStatus, LeaseConfig, default_identity,
    default_namespace,
};
pub use run::{Candidate, candidate, run_elected};
