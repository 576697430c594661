"""The release: its image tags in the docs, and the rehearsal of the whole release."""
