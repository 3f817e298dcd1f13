//! [`build_client`]: a `kube::Client` from the pod's service account, else kubeconfig,
//! with the `qps`/`burst` limit on every request ([`client_from`]).

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::config::KubeSourceConfig;
use crate::error::KubeSourceError;
use crate::throttle::ThrottleLayer;

/// In a pod (service account), unless `kubeconfig` or `context` is set; else the
/// kubeconfig (`kubeconfig`, `$KUBECONFIG` or `~/.kube/config`) with `context` or the
/// current context. Neither: [`KubeSourceError::NoCluster`].
pub async fn build_client(config: &KubeSourceConfig) -> Result<kube::Client, KubeSourceError> {
    let explicit = config.kubeconfig.is_some() || config.context.is_some();
    if !explicit && let Ok(c) = kube::Config::incluster() {
        tracing::info!(cluster_url = %c.cluster_url, "using the in-cluster service account");
        return client_from(c, config);
    }
    let kubeconfig = match &config.kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    };
    let kubeconfig = match kubeconfig {
        Ok(k) => k,
        Err(KubeconfigError::FindPath) => return Err(KubeSourceError::NoCluster),
        Err(KubeconfigError::ReadConfig(e, path))
            if e.kind() == std::io::ErrorKind::NotFound && config.kubeconfig.is_none() =>
        {
            tracing::debug!(path = %path.display(), "no kubeconfig file");
            return Err(KubeSourceError::NoCluster);
        }
        Err(e) => return Err(KubeSourceError::Kubeconfig(e)),
    };
    let options = KubeConfigOptions {
        context: config.context.clone(),
        ..Default::default()
    };
    let c = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(KubeSourceError::Kubeconfig)?;
    tracing::info!(cluster_url = %c.cluster_url, context = ?config.context, "using kubeconfig");
    client_from(c, config)
}

/// A client for `kube_config` whose every request passes the `qps`/`burst` token
/// bucket of `config` ([`ThrottleLayer`]).
///
/// ```
/// use kev_kube_source::{KubeSourceConfig, client_from};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let kube_config = kube::Config::new("http://127.0.0.1:6443".parse().unwrap());
/// let client = client_from(kube_config, &KubeSourceConfig { qps: 20.0, burst: 40, ..Default::default() });
/// assert!(client.is_ok());
/// # });
/// ```
pub fn client_from(
    kube_config: kube::Config,
    config: &KubeSourceConfig,
) -> Result<kube::Client, KubeSourceError> {
    let layer = ThrottleLayer::new(config.qps, config.burst);
    Ok(kube::client::ClientBuilder::try_from(kube_config)
        .map_err(KubeSourceError::Client)?
        .with_layer(&layer)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_kubeconfig_file_is_named_in_the_error() {
        let config = KubeSourceConfig {
            kubeconfig: Some("/nonexistent/kev/kubeconfig".into()),
            ..KubeSourceConfig::default()
        };
        let err = build_client(&config).await.err().unwrap().to_string();
        assert!(err.contains("/nonexistent/kev/kubeconfig"), "{err}");
    }

    #[test]
    fn the_no_cluster_message_says_what_to_do() {
        let msg = KubeSourceError::NoCluster.to_string();
        assert!(
            msg.starts_with("no Kubernetes cluster configured: set KUBECONFIG or run in a pod")
        );
        assert!(msg.contains("kev run --source replay:"));
    }
}
