"""The sandbox's machinery, which knows no provider: emulator interface, HTTP, knobs, records, SMTP.

emulator.py   what a provider emulator is (Emulator, Request, Response, SandboxState)
http.py       the h11 HTTP/1.1 server: keep-alive connections in, Request / Response out
routing.py    each request to its emulator by the first path segment, through the knobs
knobs.py      latency, rate limits and injected failures, applied before an emulator runs
recording.py  what arrived: every HTTP request with its answer, every email
smtp.py       the SMTP server (aiosmtpd) and its checks on each message
loop.py       a background thread with its own event loop, for callers that are not async
"""
