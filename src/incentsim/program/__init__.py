"""incentsim.program."""
