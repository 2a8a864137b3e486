# `__id__` source

Reads items from the __Title__ API page by page, as one stream, `items`, with the API key as a Bearer
token. The API answers `GET <url>?limit=N&cursor=C` with `{ "items": [...], "next": "<cursor>" | null }`.

```yaml
sources:
  __id__:
    type: __id__
    url: https://api.example.com/v1/items
    api_key: ${__ENV___API_KEY}
```

Every setting, with its type and default: [docs/connectors/source-__id__.md](../../../../docs/connectors/source-__id__.md)
(generated from the spec by `npm run docs:connectors`).

## Reading and state

- One stream, `items`, keyed by `id`.
- After each page but the last, a state holds the next page's cursor; an interrupted run resumes there and
  may read the page that was in flight again.
- 401 or 403 fails the read with `AUTH_REFUSED`; any other non-2xx answer with `SOURCE_FAILED`, naming the
  host and status — never the key.

`sluice check source/__id__ --config …` reads one item.

## Developing

`npx vitest run <this folder>` runs the tests beside the code: the source against a local server, and the
shared conformance suite (`sluice/testing`).
