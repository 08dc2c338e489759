"""The collector: the HTTP door events come in through."""
