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

impl KubeSourceError {
    /// Errors the user fixes in the environment or the config (no cluster, a broken
    /// kubeconfig, an invalid source config), as opposed to a failing API server.
    pub fn is_usage_error(&self) -> bool {
        matches!(
            self,
            Self::NoCluster | Self::Kubeconfig(_) | Self::Config(_)
        )
    }
}
