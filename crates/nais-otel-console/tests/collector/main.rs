//! Integration tests for the collector: real OTLP over loopback.

mod binary;
mod grpc;
mod http;
mod lifecycle;
mod otlp_exporter;
mod support;
mod traces;
mod waterfall;
