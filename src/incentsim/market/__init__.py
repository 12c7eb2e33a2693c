"""incentsim.market."""
