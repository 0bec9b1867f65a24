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

fn assert_same_bytes(round: usize, ours: &[u8], theirs: &[u8]) {
    assert!(
        ours == theirs,
        "round {round}: {} bytes against {}; first difference at {:?}",
        ours.len(),
        theirs.len(),
        ours.iter().zip(theirs).position(|(a, b)| a != b)
    );
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
        assert_same_bytes(round, &ours, &theirs);
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

/// Spans written from the threads' buffers (`request_items`) are the bytes of the same spans
/// made `SpanData`, finished and prepared (`request`): bridge spans with and without the
/// span limits cutting them, identity numbers, credentials and values over the length
/// limit, which make a span a `SpanData` of its own, among spans written in place.
#[test]
fn stored_spans_encode_as_their_span_data() {
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::SpanLimits;

    use crate::bridge::Finisher;
    use crate::export::batch::{stored_item, Ended, Finish as _, Item, SpanParts};
    use crate::export::Preparer;
    use crate::privacy::MaskConfig;

    let mut rng = Rng::seeded(0x5707_ed00);
    let scopes = scopes();
    let resource = EncodedResource::new(&resources()[1]);
    // Limits the generated spans sometimes exceed.
    let limits = SpanLimits {
        max_attributes_per_span: 6,
        max_events_per_span: 1,
        max_links_per_span: 1,
        max_attributes_per_event: 2,
        max_attributes_per_link: 1,
    };
    let finisher = Finisher::new(limits, InstrumentationScope::builder("bridge").build());
    let (mut in_place, mut copied, mut spans) = (0, 0, 0);
    for round in 0..300 {
        let preparer = Preparer::new(MaskConfig::default(), [None, Some(12)][round % 2]);
        let batch: Vec<(SpanData, bool)> = (0..[1, 5, 20][round % 3])
            .map(|_| {
                let mut span = rng.span(&scopes);
                let bridge = rng.chance(2);
                if bridge {
                    // As the bridge hands them over: nothing dropped yet.
                    span.dropped_attributes_count = 0;
                    span.events.dropped_count = 0;
                    span.links.dropped_count = 0;
                    for event in &mut span.events.events {
                        event.dropped_attributes_count = 0;
                    }
                    for link in &mut span.links.links {
                        link.dropped_attributes_count = 0;
                    }
                }
                (span, bridge)
            })
            .collect();
        let mut ended = Ended::new();
        for (span, bridge) in &batch {
            let mut parts = SpanParts::from(span.clone());
            if *bridge {
                parts.scope = None;
            }
            ended.push(parts);
        }
        // The `SpanData` path: made, finished, prepared, encoded.
        let mut expected: Vec<SpanData> = ended
            .iter()
            .map(|stored| {
                let mut span = stored.span_data(&InstrumentationScope::default());
                if stored.scope().is_none() {
                    finisher.finish(&mut span);
                }
                span
            })
            .collect();
        preparer.prepare_batch(&mut expected);
        // The stored path.
        let mut items: Vec<Item<'_>> = ended
            .iter()
            .map(|span| stored_item(span, &finisher))
            .collect();
        preparer.prepare_items(&mut items);
        for item in &items {
            match item {
                Item::Stored(..) => in_place += 1,
                Item::Data(_) => copied += 1,
            }
        }
        spans += items.len();
        let ours = super::request_items(&items, &resource);
        let theirs = request(&expected, &resource);
        assert_same_bytes(round, &ours, &theirs);
    }
    assert!(spans > 2000, "{spans} spans compared");
    assert!(
        in_place > spans / 10 && copied > spans / 10,
        "{in_place} spans written in place, {copied} copied"
    );
}
