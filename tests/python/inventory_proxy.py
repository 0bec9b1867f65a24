"""A Python service in the DogBook chain (kennels -> this -> inventory).

Instrumented by hand with the OpenTelemetry Python SDK: it extracts the W3C
trace context of each incoming request, makes a SERVER span, forwards the
request to UPSTREAM_URL (same path and query) under a CLIENT span whose context
it injects, and exports OTLP/gRPC as the OTEL_* environment says
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_INSECURE,
OTEL_BSP_SCHEDULE_DELAY, ...). Listens on 127.0.0.1:PORT. SIGTERM flushes and
exits. Used by tests/python_chain.rs.
"""

import os
import signal
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

UPSTREAM = os.environ["UPSTREAM_URL"].rstrip("/")
PROPAGATOR = TraceContextTextMapPropagator()

provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("inventory-proxy")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path in ("/isAlive", "/isReady"):
            self.answer(200, b"ok", None)
            return
        carrier = {name.lower(): value for name, value in self.headers.items()}
        parent = PROPAGATOR.extract(carrier)
        route = self.path.split("?", 1)[0]
        with tracer.start_as_current_span(
            f"GET {route}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": "GET", "url.path": route},
        ) as server:
            with tracer.start_as_current_span(
                "GET", kind=trace.SpanKind.CLIENT, attributes={"url.full": UPSTREAM + self.path}
            ) as client:
                headers = {}
                PROPAGATOR.inject(headers)
                request = urllib.request.Request(UPSTREAM + self.path, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                client.set_attribute("http.response.status_code", status)
            server.set_attribute("http.response.status_code", status)
            traceparent = {}
            PROPAGATOR.inject(traceparent)
        self.answer(status, body, traceparent.get("traceparent"))

    def answer(self, status, body, traceparent):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if traceparent:
            self.send_header("traceparent", traceparent)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("listening", flush=True)
    server.serve_forever()
    provider.shutdown()


if __name__ == "__main__":
    main()
