"""The vendor connector kit: what every system API connector is built from."""
