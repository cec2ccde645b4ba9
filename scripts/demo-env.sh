# Sourced by run-demo.sh (and its test): where `make run` serves, and the address e-mail links
# start with. PUBLIC_BASE_URL follows HOST and PORT, so `make run PORT=8080` mails links to
# port 8080 rather than to the laptop default of 8000; one set in the environment still wins.
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$HOST:$PORT}
