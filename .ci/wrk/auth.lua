-- Every request carries the bearer token in API_TOKEN (used by .ci/bench and .ci/ab).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_TOKEN")
