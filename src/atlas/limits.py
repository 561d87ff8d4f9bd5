"""The limits on what a caller may ask, each stated once: the search engine, the answer service, the HTTP
API's schemas and the CLI all import them from here, so the Python library refuses what the API refuses."""

from __future__ import annotations

# A search query or a question, in characters: room for any question; a longer text is a pasted document,
# refused with a hint rather than embedded and searched.
MAX_QUERY_CHARS = 1000

# Hits one search may return: a page a person or a script reads; deeper pages cost a fetch per hit.
MAX_SEARCH_LIMIT = 200

# Moments one answer may read: every one is packed into the generator's prompt and checked against each
# answer sentence, so one request's cost stays bounded. The HTTP API has refused more since it began; the
# library and the CLI now refuse the same (they allowed 50 before).
MAX_ASK_LIMIT = 20
