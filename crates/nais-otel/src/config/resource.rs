//! The resource: `service.name`, `OTEL_RESOURCE_ATTRIBUTES` and what NAIS tells a pod.

use opentelemetry::KeyValue;

use super::{
    parse::{self, Lookup},
    problem::ConfigProblem,
    vars::{
        NAIS_APP_IMAGE, NAIS_APP_NAME, NAIS_CLUSTER_NAME, NAIS_NAMESPACE, NAIS_POD_NAME,
        OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME,
    },
};

/// Reads the service name and the other resource attributes.
///
/// Precedence, highest first: `OTEL_SERVICE_NAME`; `OTEL_RESOURCE_ATTRIBUTES`;
/// the `NAIS_*` variables; `unknown_service:<executable>`.
pub(super) fn read(
    lookup: &Lookup<'_>,
    problems: &mut Vec<ConfigProblem>,
) -> (String, Vec<KeyValue>) {
    let mut attributes: Vec<(String, String)> = Vec::new();

    // Lowest precedence first; `set` replaces an earlier value of the same key.
    let namespace = parse::get(lookup, NAIS_NAMESPACE);
    let pod = parse::get(lookup, NAIS_POD_NAME);
    if let Some(namespace) = &namespace {
        set(&mut attributes, "service.namespace", namespace);
        set(&mut attributes, "k8s.namespace.name", namespace);
    }
    if let Some(pod) = &pod {
        set(&mut attributes, "k8s.pod.name", pod);
        set(&mut attributes, "service.instance.id", pod);
    }
    if let Some(cluster) = parse::get(lookup, NAIS_CLUSTER_NAME) {
        set(&mut attributes, "k8s.cluster.name", &cluster);
    }
    if let Some(version) = parse::get(lookup, NAIS_APP_IMAGE)
        .as_deref()
        .and_then(service_version_from_image)
    {
        set(&mut attributes, "service.version", version);
    }

    if let Some(value) = parse::get(lookup, OTEL_RESOURCE_ATTRIBUTES) {
        let pairs = parse::key_value_list(&value, |index, member| {
            problems.push(ConfigProblem::new(
                OTEL_RESOURCE_ATTRIBUTES,
                &value,
                format!(
                    "member {} (`{member}`) is not `key=value` (percent-encoded); skipped",
                    index + 1
                ),
            ));
        });
        for (key, value) in pairs {
            set(&mut attributes, &key, &value);
        }
    }

    let from_attributes = take(&mut attributes, "service.name");
    let service_name = parse::get(lookup, OTEL_SERVICE_NAME)
        .or(from_attributes)
        .or_else(|| parse::get(lookup, NAIS_APP_NAME))
        .unwrap_or_else(unknown_service);

    let attributes = attributes
        .into_iter()
        .map(|(key, value)| KeyValue::new(key, value))
        .collect();
    (service_name, attributes)
}

fn set(attributes: &mut Vec<(String, String)>, key: &str, value: &str) {
    match attributes.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value.to_owned(),
        None => attributes.push((key.to_owned(), value.to_owned())),
    }
}

fn take(attributes: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let index = attributes.iter().position(|(k, _)| k == key)?;
    Some(attributes.remove(index).1)
}

/// `unknown_service:<executable>`, as the resource semantic conventions say.
fn unknown_service() -> String {
    let executable = std::env::current_exe().ok().and_then(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
    });
    match executable {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".to_owned(),
    }
}

/// The tag of a container image reference, which NAIS uses as the version.
///
/// `europe-north1-docker.pkg.dev/nais/team/app:2024.11.21-abc123` gives
/// `2024.11.21-abc123`. A digest (`@sha256:...`) is ignored, and a reference
/// without a tag (`registry:5000/app`) gives `None`.
///
/// ```
/// use nais_otel::config::service_version_from_image;
/// assert_eq!(service_version_from_image("ghcr.io/navikt/app:1.2.3"), Some("1.2.3"));
/// assert_eq!(service_version_from_image("registry:5000/app"), None);
/// ```
pub fn service_version_from_image(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last_segment.rsplit_once(':')?;
    (!tag.is_empty()).then_some(tag)
}
