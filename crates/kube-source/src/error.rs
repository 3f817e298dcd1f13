//! [`KubeSourceError`]: why the kube source could not be set up.

/// Errors of building the source; once running it reconnects by itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeSourceError {
    #[error(
        "no Kubernetes cluster configured: set KUBECONFIG or run in a pod; try `kev run --source replay:FILE` without a cluster"
    )]
    NoCluster,
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("cannot create the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("invalid kube source config: {0}")]
    Config(#[from] kev_core::config::ConfigError),
}
