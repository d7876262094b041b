"""The kit's tooling: lab catalogue, release tool (solutions/ -> labs/), CLI and, later, the grader."""
