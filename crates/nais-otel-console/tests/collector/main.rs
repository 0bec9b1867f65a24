//! Integration tests for the collector: real OTLP over loopback.

mod grpc;

mod lifecycle;

mod support;
mod traces;
mod waterfall;
