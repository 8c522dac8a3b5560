# Elixir calling a Rust node's registered functions (crates/node/tests/rpc_with_erlang.rs runs it with the
# Rust node's name as its one argument): :rpc, :erpc, a throw, and Node.spawn_link with trap_exit.
[rust] = System.argv() |> Enum.map(&String.to_atom/1)
true = Node.connect(rust)
IO.puts("ADD #{inspect(:rpc.call(rust, :rpc_demo, :add, [1, 2]))}")
IO.puts("ECHO #{inspect(:erpc.call(rust, :rpc_demo, :echo, [%{list: [1, "two", :three]}]))}")
IO.puts("FAIL #{inspect(:rpc.call(rust, :rpc_demo, :fail, [:oops]))}")

thrown =
  try do
    :erpc.call(rust, :rpc_demo, :throw, [:ball])
  catch
    kind, value -> {kind, value}
  end

IO.puts("THROW #{inspect(thrown)}")
Process.flag(:trap_exit, true)
pid = Node.spawn_link(rust, :rpc_demo, :worker, [self()])

receive do
  {:worker_up, ^pid} -> IO.puts("WORKER up on #{node(pid) == rust}")
after
  5000 -> IO.puts("WORKER missing")
end

send(pid, {:stop, :bye})

receive do
  {:EXIT, ^pid, reason} -> IO.puts("EXIT #{inspect(reason)}")
after
  5000 -> IO.puts("EXIT missing")
end
