"""Each HTTP request to its emulator by the first path segment, through the knobs, recorded.

/slack/api/chat.postMessage reaches the emulator named "slack" as /api/chat.postMessage. An
unknown first segment is a 404 listing the providers served; `/` alone answers what is here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from notify.sandbox.core.emulator import Emulator, Request, Response
from notify.sandbox.core.knobs import Knobs
from notify.sandbox.core.recording import Recorded, Recording

__all__ = ["Router"]

log = logging.getLogger(__name__)


class Router:
    """The one HTTP handler of a sandbox: route, apply the knobs, answer, record."""

    def __init__(
        self,
        emulators: Mapping[str, Emulator],
        knobs: Knobs,
        recording: Recording,
        clock: Callable[[], float],
    ) -> None:
        self.emulators = emulators
        self.knobs = knobs
        self.recording = recording
        self.clock = clock

    async def dispatch(self, req: Request) -> Response:
        """Route one request to its emulator through the knobs, and record it."""
        _, _, rest = req.path.partition("/")
        provider, slash, sub = rest.partition("/")
        emulator = self.emulators.get(provider)
        full_path = req.path
        if emulator is None:
            response = self._not_found(provider)
        else:
            req.path = slash + sub
            response = await self._through_knobs(provider, emulator, req)
        body, headers = response.encode()
        response.body, response.headers = body, headers
        self.recording.store_request(
            Recorded(
                provider=provider,
                method=req.method,
                path=full_path,
                query=req.query,
                headers=req.headers,
                body=req.body,
                status=response.status,
                response_body=response.json_value(),
                response_headers=headers,
                at=self.clock(),
            )
        )
        return response

    async def _through_knobs(self, provider: str, emulator: Emulator, req: Request) -> Response:
        instead = await self.knobs.before_request(provider, emulator)
        if instead is not None:
            return instead
        try:
            return await emulator.handle(req)
        except Exception as exc:  # an emulator bug is a 500, as a real server would answer
            log.exception("sandbox %s emulator failed", provider)
            return Response(500, {"error": f"sandbox {provider} emulator failed: {exc!r}"})

    def _not_found(self, provider: str) -> Response:
        if provider == "":
            return Response(200, {"sandbox": "notify", "providers": sorted(self.emulators)})
        known = sorted(self.emulators)
        return Response(404, {"error": f"no provider {provider!r} here", "providers": known})
