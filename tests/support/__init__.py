"""What the tests share: factories (`factories`), the checked test client (`client`), the two
schools most tests use (`world`), a real SMTP server and sign-in helpers (`mail`), signing in
and posting forms with the test client (`web`), and the browser tests' helpers (`browser`)."""
