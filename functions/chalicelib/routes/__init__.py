"""Routes by area, each a Chalice blueprint of thin handlers over shared.services."""
