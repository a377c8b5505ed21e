"""Where members run: the Host protocol and its local and ssh implementations."""
