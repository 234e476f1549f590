"""Route the anthropic SDK's HTTP (httpx2) through a respx router.

The SDK sends with httpx2; respx mocks httpx. This transport converts each
httpx2 request into an httpx one, lets the respx router answer (or raise), and
converts the answer back, so tests drive the real SDK end to end without network.
"""

from __future__ import annotations

import httpx
import httpx2
import respx

_ERRORS = {
    httpx.ConnectError: httpx2.ConnectError,
    httpx.ReadTimeout: httpx2.ReadTimeout,
    httpx.ConnectTimeout: httpx2.ConnectTimeout,
    httpx.RemoteProtocolError: httpx2.RemoteProtocolError,
    httpx.ReadError: httpx2.ReadError,
}


class RespxTransport(httpx2.BaseTransport):
    def __init__(self, router: respx.MockRouter):
        self.router = router

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        mirrored = httpx.Request(
            request.method, str(request.url), headers=list(request.headers.items()), content=body
        )
        try:
            response = self.router.handler(mirrored)
        except httpx.HTTPError as exc:
            for src, dst in _ERRORS.items():
                if isinstance(exc, src):
                    raise dst(str(exc), request=request) from exc
            raise httpx2.ConnectError(str(exc), request=request) from exc
        content = response.read()
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-encoding"]
        return httpx2.Response(response.status_code, headers=headers, content=content, request=request)


def http_client(router: respx.MockRouter) -> httpx2.Client:
    return httpx2.Client(transport=RespxTransport(router))
