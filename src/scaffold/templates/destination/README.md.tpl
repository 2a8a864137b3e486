# `__id__` destination

Sends records to the __Title__ API as JSON arrays, in batches of up to `batch_size` records, with the API
key as a Bearer token.

```yaml
destinations:
  __id__:
    type: __id__
    url: https://api.example.com/v1/records
    api_key: ${__ENV___API_KEY}
```

Every setting, with its type and default: [docs/connectors/destination-__id__.md](../../../../docs/connectors/destination-__id__.md)
(generated from the spec by `npm run docs:connectors`).

## What happens to a batch

- 2xx: every record is delivered.
- 408, 429, 5xx, timeouts and resets: the batch is retried with backoff, honouring `Retry-After`, with the
  same `Idempotency-Key` on each attempt.
- 401 or 403: the run stops — no record can get through with a refused key — and state stays behind the batch.
- Any other 4xx: the batch's records are rejected with the status and the start of the answer.

`sluice check destination/__id__ --config …` sends an `OPTIONS` request with the key.

## Developing

`npx vitest run <this folder>` runs the tests beside the code: the destination against a local server, and
the shared conformance suite (`sluice/testing`); `npx sluice test destination/__id__ --config …` runs the
suite against a real endpoint.
