"""Live endpoints: real servers on loopback (origin, edges) driven by the emulator."""
