"""Segment/RudderStack-compatible Tracking-API ingest (SPEC §9): `/v1/identify`, `/v1/track`,
`/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias`, `/v1/batch`."""
