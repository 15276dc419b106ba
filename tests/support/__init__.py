"""Test support code: real local HTTP servers the text backends talk to (no mocks of the clients)."""
