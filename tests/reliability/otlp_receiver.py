"""A loopback OTLP/HTTP receiver for the reliability tests: stores every export request it gets,
decoded with the OTLP protobuf messages, so a test sees what really left the process."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class OtlpReceiver:
    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path.endswith("/v1/traces"):
                    owner.traces.append(ExportTraceServiceRequest.FromString(body))
                elif self.path.endswith("/v1/metrics"):
                    owner.metrics.append(ExportMetricsServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def span_customers(self) -> list[str]:
        """customer.id of every llmledger span received."""
        found = []
        for request in self.traces:
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    if scope_spans.scope.name != "llmledger":
                        continue
                    for span in scope_spans.spans:
                        for attribute in span.attributes:
                            if attribute.key == "customer.id":
                                found.append(attribute.value.string_value)
        return found

    def metric_customers(self, name: str) -> set[str]:
        found = set()
        for request in self.metrics:
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        if metric.name != name:
                            continue
                        for point in metric.sum.data_points:
                            for attribute in point.attributes:
                                if attribute.key == "customer.id":
                                    found.add(attribute.value.string_value)
        return found
