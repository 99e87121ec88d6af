"""Operations experience API: the data of the operations console (dashboard and API catalogue)."""
