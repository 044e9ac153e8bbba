"""Static files in production: whitenoise's compressed, hashed copies (`collectstatic`).

JavaScript source-map comments are left as they are: the vendored minified files
(mqa/static/mqa/vendor/) name maps that are not shipped, which the default storage refuses
at `collectstatic`. Stylesheets' `url(...)` and `@import` references are still rewritten to
the hashed names.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = tuple(
        (glob, rules)
        for glob, rules in CompressedManifestStaticFilesStorage.patterns
        if glob != "*.js"
    )
