//! The tonic codec of the export request: encoded straight from a shared request.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

/// The OTLP/gRPC trace export method.
pub(super) const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// A codec that encodes a shared request straight into tonic's buffer, so a
/// retry neither clones the request nor keeps a second encoded copy.
#[derive(Clone, Copy, Debug)]
pub(super) struct SharedRequest;

impl tonic::codec::Codec for SharedRequest {
    type Encode = Arc<ExportTraceServiceRequest>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = SharedRequest;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        SharedRequest
    }

    fn decoder(&mut self) -> Self::Decoder {
        ResponseDecoder
    }
}

impl tonic::codec::Encoder for SharedRequest {
    type Item = Arc<ExportTraceServiceRequest>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Self::Item,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|error| tonic::Status::internal(format!("cannot encode: {error}")))
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct ResponseDecoder;

impl tonic::codec::Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, Self::Error> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|error| tonic::Status::internal(format!("bad response: {error}")))
    }
}

/// The spans the collector says it rejected.
pub(super) fn rejected(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |partial| partial.rejected_spans.max(0) as u64)
}
