"""The dashboard's server side: accounts, sessions and tokens, and the JSON API over the sandboxed lake."""
