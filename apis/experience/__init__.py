"""Experience APIs (``/experience/<portal>/v<N>``): view models for one audience each."""
