//! The encoder against `opentelemetry-proto`'s conversion and prost's encoding, byte for
//! byte, on generated batches: every kind of value, empty and non-empty strings, events,
//! links, statuses, trace states, remote parents, several scopes and resources.

use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::{request, varint_len, EncodedResource};
use crate::export::generated::{scopes, Rng};

fn resources() -> Vec<Resource> {
    vec![
        Resource::builder_empty().build(),
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "dogbook"),
                KeyValue::new("service.namespace", "team-dogs"),
                KeyValue::new("k8s.pod.uid", 12_i64),
            ])
            .build(),
        Resource::builder_empty()
            .with_schema_url(
                [KeyValue::new("service.name", "kennel")],
                "https://opentelemetry.io/schemas/1.27.0",
            )
            .build(),
    ]
}

/// What `opentelemetry-proto` and prost make of `batch`.
fn reference(batch: &[SpanData], resource: &Resource) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            batch.to_vec(),
            &ResourceAttributesWithSchema::from(resource),
        ),
    }
    .encode_to_vec()
}

#[test]
fn generated_batches_encode_as_opentelemetry_proto_does() {
    let mut rng = Rng::seeded(0x9e37_79b9_7f4a_7c15);
    let scopes = scopes();
    let resources = resources();
    let mut spans = 0;
    for round in 0..400 {
        let resource = &resources[round % resources.len()];
        // Empty batches, single spans and batches of many scopes.
        let size = [0, 1, 2, 7, 30][round % 5];
        let batch: Vec<SpanData> = (0..size).map(|_| rng.span(&scopes)).collect();
        spans += batch.len();
        let ours = request(&batch, &EncodedResource::new(resource));
        let theirs = reference(&batch, resource);
        assert!(
            ours[..] == theirs[..],
            "round {round}: {} bytes against {}; first difference at {:?}",
            ours.len(),
            theirs.len(),
            ours.iter().zip(&theirs).position(|(a, b)| a != b)
        );
    }
    assert!(spans > 3000, "{spans} spans compared");
}

#[test]
fn the_default_resource_encodes_as_an_unset_one() {
    let mut rng = Rng::seeded(7);
    let batch: Vec<SpanData> = (0..3).map(|_| rng.span(&scopes())).collect();
    let theirs = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            batch.clone(),
            &ResourceAttributesWithSchema::default(),
        ),
    }
    .encode_to_vec();
    let ours = request(&batch, &EncodedResource::default());
    assert!(
        ours[..] == theirs[..],
        "{} bytes against {}",
        ours.len(),
        theirs.len()
    );
}

#[test]
fn varint_lengths() {
    for (value, len) in [
        (0, 1),
        (1, 1),
        (127, 1),
        (128, 2),
        (16_383, 2),
        (16_384, 3),
        (u64::from(u32::MAX), 5),
        (u64::MAX, 10),
    ] {
        assert_eq!(varint_len(value), len, "{value}");
    }
}
