# Checks an Elixir struct encoded by Rust (through serde) and encodes one for Rust to read.
# Usage: elixir user_struct.exs DIR  (reads DIR/from_rust.etf, writes DIR/from_elixir.etf)
defmodule User do
  defstruct name: nil, age: 0, roles: [], email: nil
end

defmodule Check do
  def run(dir) do
    got = :erlang.binary_to_term(File.read!(Path.join(dir, "from_rust.etf")))
    want = %User{name: "jo", age: 3, roles: [:admin, {:member, 2019}], email: "jo@example.com"}

    cond do
      not is_struct(got, User) -> IO.puts("rust_to_elixir: not a User struct: #{inspect(got)}")
      got != want -> IO.puts("rust_to_elixir: mismatch: got #{inspect(got)}, want #{inspect(want)}")
      true -> IO.puts("rust_to_elixir: ok #{inspect(got)}")
    end

    reply = %User{name: "ann", age: 41, roles: [:admin], email: nil}
    File.write!(Path.join(dir, "from_elixir.etf"), :erlang.term_to_binary(reply))
    IO.puts("elixir_to_rust: written")
  end
end

[dir] = System.argv()
Check.run(dir)
