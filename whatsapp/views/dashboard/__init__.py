"""The dashboard's pages and the JSON endpoints only its pages use."""
