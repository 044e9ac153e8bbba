"""REST API v1 (SPEC §7), entry points: auth, shared pieces, model/pipeline/handoff views and
reports. Views parse input, call one service or selector and shape output."""
