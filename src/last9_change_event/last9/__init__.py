"""Last9's API: tokens, the HTTP transport, retries and the conversation. Nothing about inputs
or front-ends."""
