//! A small reconciler that reports through kev's event recorder: `MissingSecret`,
//! `InvalidSpec` and `Forbidden` warnings, and `Provisioning` → `Ready` transitions.
//!
//! It reconciles ConfigMaps labelled `kev.dev/example=db`: each names a Secret in
//! `data.secretName` and a replica count in `data.replicas`. Run it against any cluster
//! (it needs get/list on configmaps and secrets, and create/patch on events in both
//! groups):
//!
//! ```text
//! cargo run -p kev-recorder --example controller
//! kubectl create configmap orders --from-literal=secretName=db-creds --from-literal=replicas=3
//! kubectl label configmap orders kev.dev/example=db
//! kubectl events --for configmap/orders
//! ```

use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kev_recorder::{EventRecorder, NewEvent, ObjectRef, Recorder, RecorderConfig, Reporter};
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};

/// What one reconcile found.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ready,
    Waiting,
}

/// The kev reference of a ConfigMap.
fn reference(cm: &ConfigMap) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: cm.namespace().unwrap_or_default(),
        name: cm.name_any(),
        uid: cm.uid().unwrap_or_default(),
        field_path: String::new(),
    }
}

/// One reconcile: every problem is reported as an event, and only state changes are
/// reported as transitions, so a steady state emits nothing.
async fn reconcile(client: &Client, rec: &dyn EventRecorder, cm: &ConfigMap) -> Outcome {
    let me = reference(cm);
    let ns = me.namespace.clone();
    let data = cm.data.clone().unwrap_or_default();
    let Some(replicas) = data.get("replicas").and_then(|r| r.parse::<u32>().ok()) else {
        rec.warn(
            &me,
            "InvalidSpec",
            "Reconcile",
            "data.replicas must be a whole number",
        );
        return Outcome::Waiting;
    };
    let Some(secret_name) = data.get("secretName") else {
        rec.warn(
            &me,
            "InvalidSpec",
            "Reconcile",
            "data.secretName is required",
        );
        return Outcome::Waiting;
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    match secrets.get_opt(secret_name).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            // A transient condition: say it once, then at most every 5 minutes.
            rec.record(
                NewEvent::warning(
                    &me,
                    "MissingSecret",
                    "Reconcile",
                    format!("secret {secret_name:?} not found"),
                )
                .quiet_for(Duration::from_secs(300)),
            );
            rec.on_transition(
                "phase",
                "Provisioning",
                NewEvent::normal(&me, "Provisioning", "Reconcile", "waiting for the secret"),
            );
            return Outcome::Waiting;
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            rec.warn(
                &me,
                "Forbidden",
                "Reconcile",
                &format!("cannot read secret {secret_name:?}: {}", status.message),
            );
            return Outcome::Waiting;
        }
        Err(e) => {
            rec.warn(&me, "ReconcileFailed", "Reconcile", &e.to_string());
            return Outcome::Waiting;
        }
    }
    rec.on_transition(
        "phase",
        "Ready",
        NewEvent::normal(
            &me,
            "Ready",
            "Reconcile",
            format!("{replicas} replicas configured"),
        ),
    );
    Outcome::Ready
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::try_default().await?;
    let reporter = Reporter::for_this_host("kev.dev/example-controller")?;
    let recorder = Recorder::new(client.clone(), reporter, RecorderConfig::from_env()?)?;
    let configmaps: Api<ConfigMap> = Api::all(client.clone());
    let selector = ListParams::default().labels("kev.dev/example=db");
    let mut ticks = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        for cm in configmaps.list(&selector).await?.items {
            let outcome = reconcile(&client, &recorder, &cm).await;
            println!(
                "{}/{}: {outcome:?}",
                cm.namespace().unwrap_or_default(),
                cm.name_any()
            );
        }
    }
    // Write the counts of the series still open before leaving.
    recorder.close().await;
    println!("{:?}", recorder.stats());
    Ok(())
}
