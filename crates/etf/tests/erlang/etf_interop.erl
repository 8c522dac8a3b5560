%% Erlang's side of crates/etf/tests/erlang_interop.rs: real Erlang judges the Rust codec.
%%
%% The test compiles this module into a temporary directory and runs it twice per term set:
%%
%%   erl -noshell -noinput -pa Dir -run etf_interop main export Set Dir [CorpusFile]
%%     Writes Dir/from_erlang.bin: for every term of Set, six length-prefixed frames:
%%     Name, term_to_binary(T), term_to_binary(T, [{minor_version, 2}]), term_to_binary(T, [compressed]),
%%     term_to_binary(T, [{compressed, 9}]) and the hand-crafted encoding the term came from (or <<>>).
%%
%%   erl -noshell -noinput -pa Dir -run etf_interop main check Set Dir [CorpusFile]
%%     Reads Dir/from_rust.bin: for every term, four frames: Name, the Rust encoder's default output,
%%     its UTF-8-atom output and its compressed output. Each must binary_to_term to a term =:= Erlang's own;
%%     the first two must also be byte-identical to term_to_binary(T) and
%%     term_to_binary(T, [{minor_version, 2}]) unless T holds a map of more than 32 keys (whose order
%%     Erlang leaves to its hash). Writes the verdict to Dir/report.txt.
%%
%%   erl -noshell -noinput -pa Dir -run etf_interop main verdicts odd Dir
%%     Writes Dir/from_erlang.bin: for every hand-crafted odd or malformed binary, three frames:
%%     Name, the bytes, and term_to_binary(binary_to_term(Bytes)) or <<>> when Erlang rejects them.
%%
%% Sets: corpus (file:consult of CorpusFile), generated (big and deep terms that the Rust test builds the
%% same way), special (pids, ports, references, funs, and legacy or non-canonical encodings).
%% Every run halts the node itself: status 0 when it ran (mismatches are in the report), 2 when it crashed.
-module(etf_interop).
-export([main/1]).

-define(FLATMAP_MAX, 32).

main(Args) ->
    Status =
        try run(Args) of
            ok -> 0
        catch
            Class:Reason:Stack ->
                io:format(standard_error, "etf_interop ~tp crashed: ~tp:~tp~n~tp~n", [Args, Class, Reason, Stack]),
                2
        end,
    erlang:halt(Status).

run(["export", Set, Dir | Rest]) ->
    Frames = lists:append([export_frames(Case) || Case <- cases(Set, Rest)]),
    write_frames(filename:join(Dir, "from_erlang.bin"), Frames);
run(["check", Set, Dir | Rest]) ->
    Expected = expected(Set, Dir, Rest),
    Records = group(read_frames(filename:join(Dir, "from_rust.bin")), 4),
    Results = lists:append([check_record(Record, Expected) || Record <- Records]),
    Received = [Name || [Name | _] <- Records],
    Missing = [{mismatch, Name, <<"all">>, "Erlang has this term but Rust sent nothing for it"}
               || {Name, _} <- Expected, not lists:member(Name, Received)],
    write_report(filename:join(Dir, "report.txt"), length(Records), Results ++ Missing);
run(["verdicts", "odd", Dir]) ->
    Frames = lists:append([[list_to_binary(Name), Bytes, verdict(Bytes)] || {Name, Bytes} <- odd()]),
    write_frames(filename:join(Dir, "from_erlang.bin"), Frames).

%% ---------------------------------------------------------------------------------------------------------
%% Term sets. Each case is {Name, Term, HandCrafted} where HandCrafted is the encoding the term was decoded
%% from (<<>> when it was built directly).

cases("corpus", [File]) ->
    {ok, Terms} = file:consult(File),
    [{corpus_name(I), T, <<>>} || {I, T} <- lists:zip(lists:seq(1, length(Terms)), Terms)];
cases("generated", []) ->
    [{list_to_binary(Name), T, <<>>} || {Name, T} <- generated()];
cases("special", []) ->
    [{list_to_binary(Name), T, <<>>} || {Name, T} <- special()] ++
        [{list_to_binary(Name), binary_to_term(Bin), Bin} || {Name, Bin} <- crafted()].

corpus_name(I) ->
    <<"corpus/", (integer_to_binary(I))/binary>>.

%% What the check run compares against: the same terms again, except that the special set (pids, refs and
%% funs are per-run) comes from what the export run wrote.
expected("special", Dir, []) ->
    Records = group(read_frames(filename:join(Dir, "from_erlang.bin")), 6),
    [{Name, binary_to_term(Default)} || [Name, Default | _] <- Records];
expected(Set, _Dir, Rest) ->
    [{Name, T} || {Name, T, _} <- cases(Set, Rest)].

export_frames({Name, T, HandCrafted}) ->
    [Name,
     term_to_binary(T),
     term_to_binary(T, [{minor_version, 2}]),
     term_to_binary(T, [compressed]),
     term_to_binary(T, [{compressed, 9}]),
     HandCrafted].

%% Big, long and deep terms. The Rust test builds each one the same way, by name.
generated() ->
    [{"deep_tuple_100", nest_tuple(100)},
     {"deep_tuple_400", nest_tuple(400)},
     {"deep_tuple_500", nest_tuple(500)},
     {"deep_list_400", nest_list(400)},
     {"deep_improper_300", nest_improper(300)},
     {"deep_map_200", nest_map(200)},
     {"deep_mixed_450", mixed(450)},
     {"string_65535", byte_list(65535)},
     {"list_65536", byte_list(65536)},
     {"list_0_to_2000", lists:seq(0, 2000)},
     {"list_negative", lists:seq(-300, -1)},
     {"binary_256", pattern_binary(256)},
     {"binary_1mib", pattern_binary(1 bsl 20)},
     {"bitstring_8003_bits", <<(pattern_binary(1000))/binary, 5:3>>},
     {"tuple_255", list_to_tuple(lists:seq(1, 255))},
     {"tuple_256", list_to_tuple(lists:seq(1, 256))},
     {"tuple_70000", list_to_tuple(lists:seq(1, 70000))},
     {"map_32", maps:from_list([{plain_key(I), I} || I <- lists:seq(1, 32)])},
     {"map_33", maps:from_list([{plain_key(I), I} || I <- lists:seq(1, 33)])},
     {"map_100_atoms", maps:from_list([{list_to_atom("key" ++ integer_to_list(I)), I} || I <- lists:seq(1, 100)])},
     {"map_10000_mixed", maps:from_list([{mixed_key(I), {v, I}} || I <- lists:seq(1, 10000)])},
     {"map_of_maps_50",
      maps:from_list([{I, maps:from_list([{J, I * J} || J <- lists:seq(1, 5)])} || I <- lists:seq(1, 50)])},
     {"map_with_map_keys_40", maps:from_list([{#{I => [I]}, I} || I <- lists:seq(1, 40)])},
     {"big_2040_bits_minus_1", (1 bsl 2040) - 1},
     {"big_2040_bits", 1 bsl 2040},
     {"big_neg_2040_bits", -(1 bsl 2040)},
     {"big_4000_bits_plus_1", (1 bsl 4000) + 1},
     {"big_neg_4000_bits_minus_1", -((1 bsl 4000) + 1)},
     {"powers_of_two_0_to_300", [1 bsl I || I <- lists:seq(0, 300)]},
     {"neg_powers_of_two_0_to_300", [-(1 bsl I) || I <- lists:seq(0, 300)]},
     {"powers_of_two_minus_1_to_300", [(1 bsl I) - 1 || I <- lists:seq(1, 300)]},
     {"floats_tenths", [I * 0.1 || I <- lists:seq(-100, 100)]},
     {"floats_reciprocals", [1 / I || I <- lists:seq(1, 100)]},
     {"atoms_latin1_1_to_255", [list_to_atom(lists:duplicate(N, 16#E9)) || N <- lists:seq(1, 255)]},
     {"atoms_euro_1_to_255", [list_to_atom(lists:duplicate(N, 16#20AC)) || N <- lists:seq(1, 255)]},
     {"atoms_emoji_1_to_255", [list_to_atom(lists:duplicate(N, 16#1F600)) || N <- lists:seq(1, 255)]},
     {"atoms_2000", [list_to_atom("atom_" ++ integer_to_list(I)) || I <- lists:seq(1, 2000)]},
     {"compressible_binaries", lists:duplicate(2000, <<"hello world">>)},
     {"compressible_string", lists:duplicate(20000, $a)},
     {"records_1000", [{I, integer_to_list(I), integer_to_binary(I)} || I <- lists:seq(1, 1000)]}].

nest_tuple(0) -> leaf;
nest_tuple(N) -> {nest_tuple(N - 1)}.

nest_list(0) -> leaf;
nest_list(N) -> [nest_list(N - 1)].

nest_improper(0) -> leaf;
nest_improper(N) -> [nest_improper(N - 1) | N].

nest_map(0) -> leaf;
nest_map(N) -> #{N => nest_map(N - 1)}.

mixed(0) -> <<"bottom">>;
mixed(N) ->
    case N rem 4 of
        0 -> {N, mixed(N - 1)};
        1 -> [mixed(N - 1), N];
        2 -> #{key => mixed(N - 1)};
        3 -> [N | mixed(N - 1)]
    end.

byte_list(N) -> [I rem 256 || I <- lists:seq(1, N)].

pattern_binary(N) -> <<<<((I * 31 + 7) band 255)>> || I <- lists:seq(0, N - 1)>>.

plain_key(I) ->
    case I rem 3 of
        0 -> I;
        1 -> list_to_atom("k" ++ integer_to_list(I));
        2 -> integer_to_binary(I)
    end.

mixed_key(I) ->
    case I rem 6 of
        0 -> I;
        1 -> list_to_atom("k" ++ integer_to_list(I));
        2 -> integer_to_binary(I);
        3 -> {I};
        4 -> I + 0.5;
        5 -> [I, I]
    end.

%% Terms only Erlang can make.
special() ->
    Self = self(),
    Ref = make_ref(),
    Ports = erlang:ports(),
    %% Through the process dictionary, so that the compiler cannot fold them into the funs' code: they
    %% must travel as free variables.
    put(y, 42),
    put(env, <<"env">>),
    Y = get(y),
    Env = get(env),
    Closure1 = fun(X) -> X + Y end,
    Closure4 = fun(A, B) -> {A, B, Self, Ref, Env, #{y => Y}} end,
    Closure0 = fun() -> ok end,
    Outer = fun() -> Closure1 end,
    [{"pid_self", Self},
     {"pid_list_to_pid", list_to_pid("<0.4.1>")},
     {"pid_max_local", list_to_pid("<0.32767.8191>")},
     {"port_first", hd(Ports)},
     {"port_last", lists:last(Ports)},
     {"port_list_to_port", list_to_port("#Port<0.1234>")},
     {"ref_make_ref", Ref},
     {"ref_monitor", erlang:monitor(process, Self)},
     {"ref_alias", alias()},
     {"fun_closure_1_free_var", Closure1},
     {"fun_closure_4_free_vars", Closure4},
     {"fun_closure_no_free_vars", Closure0},
     {"fun_closure_in_closure", Outer},
     {"fun_export_lists_map_2", fun lists:map/2},
     {"fun_export_erlang_plus_2", fun erlang:'+'/2},
     {"fun_export_own_module", fun ?MODULE:main/1},
     {"fun_export_utf8_names", fun 'módulo€':'función😀'/0},
     {"mixed_container", {Self, Ref, hd(Ports), Closure1, #{Self => Ref, Ref => [hd(Ports)]}, [fun lists:map/2]}}].

%% Hand-crafted encodings that term_to_binary/1 does not produce (legacy tags, non-canonical forms, remote
%% nodes). Both sides decode them; the round trip then compares with term_to_binary of the decoded term.
crafted() ->
    Node = <<100, 0, 10, "other@host">>,
    Local = <<100, 0, 13, "nonode@nohost">>,
    Utf8Node = <<"nöde@höst"/utf8>>,
    [{"legacy_pid_103_local", <<131, 103, Local/binary, 77:32, 2:32, 0>>},
     {"legacy_pid_103_remote", <<131, 103, Node/binary, 5:32, 1:32, 3>>},
     {"new_pid_88_remote", <<131, 88, Node/binary, 256:32, 3:32, 16#12345678:32>>},
     {"new_pid_88_remote_creation_0", <<131, 88, Node/binary, 1:32, 0:32, 0:32>>},
     {"new_pid_88_utf8_node", <<131, 88, 119, (byte_size(Utf8Node)), Utf8Node/binary, 7:32, 0:32, 1:32>>},
     {"legacy_port_102_remote", <<131, 102, Node/binary, 9:32, 2>>},
     {"new_port_89_remote", <<131, 89, Node/binary, 9:32, 256:32>>},
     {"v4_port_120_remote_big_id", <<131, 120, Node/binary, ((1 bsl 32) + 5):64, 9:32>>},
     {"v4_port_120_remote_small_id", <<131, 120, Node/binary, 77:64, 9:32>>},
     {"legacy_reference_101_remote", <<131, 101, Node/binary, 7:32, 1>>},
     {"legacy_new_reference_114_remote", <<131, 114, 3:16, Node/binary, 2, 1:32, 2:32, 3:32>>},
     {"newer_reference_90_1_word", <<131, 90, 1:16, Node/binary, 7:32, 1:32>>},
     {"newer_reference_90_3_words_local", <<131, 90, 3:16, Local/binary, 0:32, 1:32, 2:32, 3:32>>},
     {"newer_reference_90_5_words", <<131, 90, 5:16, Node/binary, 7:32, 1:32, 2:32, 3:32, 4:32, 5:32>>},
     {"legacy_float_99_1.5", float_ext(1.5)},
     {"legacy_float_99_0.1", float_ext(0.1)},
     {"legacy_float_99_neg_tiny", float_ext(-2.5e-300)},
     {"legacy_float_99_max", float_ext(1.7976931348623157e308)},
     {"legacy_float_99_min_denormal", float_ext(5.0e-324)},
     {"legacy_float_99_zero", float_ext(0.0)},
     {"new_float_70_neg_zero", <<131, 70, 16#8000000000000000:64>>},
     {"legacy_atom_100_ascii", <<131, 100, 5:16, "hello">>},
     {"legacy_atom_100_latin1", <<131, 100, 2:16, 16#E9, 16#FF>>},
     {"legacy_atom_100_empty", <<131, 100, 0:16>>},
     {"legacy_small_atom_115", <<131, 115, 5, "hello">>},
     {"legacy_small_atom_115_latin1", <<131, 115, 2, 16#E9, 16#FF>>},
     {"atom_utf8_118_short", <<131, 118, 3:16, "abc">>},
     {"small_atom_utf8_119_latin1_char", <<131, 119, 2, "é"/utf8>>},
     {"small_atom_utf8_119_empty", <<131, 119, 0>>},
     {"small_big_110_noncanonical_5", <<131, 110, 1, 0, 5>>},
     {"small_big_110_noncanonical_neg_256", <<131, 110, 2, 1, 0, 1>>},
     {"small_big_110_zero_padded", <<131, 110, 3, 0, 1, 0, 0>>},
     {"small_big_110_no_digits", <<131, 110, 0, 0>>},
     {"large_big_111_neg_7", <<131, 111, 1:32, 1, 7>>},
     {"integer_98_small_value", <<131, 98, 5:32>>},
     {"large_tuple_105_arity_2", <<131, 105, 2:32, 97, 1, 97, 2>>},
     {"list_108_with_string_tail", <<131, 108, 1:32, 97, 1, 107, 2:16, 2, 3>>},
     {"list_108_of_bytes", <<131, 108, 1:32, 97, 1, 106>>},
     {"string_107_empty", <<131, 107, 0:16>>},
     {"bit_binary_77_8_bits", <<131, 77, 2:32, 8, 1, 2>>},
     {"bit_binary_77_dirty_unused_bits", <<131, 77, 1:32, 3, 255>>},
     {"map_116_unsorted", <<131, 116, 2:32, 100, 1:16, $b, 97, 2, 100, 1:16, $a, 97, 1>>},
     {"export_113_utf8_atoms", <<131, 113, 119, 5, "lists", 119, 3, "map", 97, 2>>},
     {"compressed_80_tiny", <<131, 80, 1:32, (zlib:compress(<<106>>))/binary>>}].

%% FLOAT_EXT: the float as C's "%.20e", zero-padded to 31 bytes.
float_ext(F) ->
    Text = iolist_to_binary(io_lib:format("~.20e", [F])),
    <<131, 99, Text/binary, 0:((31 - byte_size(Text)) * 8)>>.

%% Odd or malformed encodings: Erlang's verdict (accept or reject) is what the Rust decoder must reach.
odd() ->
    Inner = zlib:compress(<<106>>),
    [{"duplicate_map_keys", <<131, 116, 2:32, 97, 1, 97, 1, 97, 1, 97, 2>>},
     {"reference_6_words", <<131, 90, 6:16, 100, 1:16, $a, 0:32, 0:192>>},
     {"atom_utf8_invalid", <<131, 119, 1, 255>>},
     {"atom_utf8_truncated_sequence", <<131, 119, 2, 16#C3, $a>>},
     {"atom_256_chars", <<131, 118, 256:16, (binary:copy(<<"a">>, 256))/binary>>},
     {"atom_255_chars", <<131, 118, 255:16, (binary:copy(<<"a">>, 255))/binary>>},
     {"truncated_integer", <<131, 98, 0, 0>>},
     {"truncated_list_no_tail", <<131, 108, 1:32, 97, 1>>},
     {"truncated_binary", <<131, 109, 10:32, 1, 2, 3>>},
     {"bad_version", <<130, 106>>},
     {"version_only", <<131>>},
     {"empty", <<>>},
     {"unknown_tag_200", <<131, 200>>},
     {"local_ext_121", <<131, 121, 0>>},
     {"bit_binary_empty_0_bits", <<131, 77, 0:32, 0>>},
     {"bit_binary_empty_8_bits", <<131, 77, 0:32, 8>>},
     {"bit_binary_0_bits_in_1_byte", <<131, 77, 1:32, 0, 0>>},
     {"bit_binary_9_bits", <<131, 77, 1:32, 9, 0>>},
     {"bit_binary_3_bits_no_bytes", <<131, 77, 0:32, 3>>},
     {"float_nan", <<131, 70, 16#7FF8000000000000:64>>},
     {"float_infinity", <<131, 70, 16#7FF0000000000000:64>>},
     {"float_neg_infinity", <<131, 70, 16#FFF0000000000000:64>>},
     {"legacy_float_not_a_number", <<131, 99, "abc", 0:(28 * 8)>>},
     {"compressed_wrong_size", <<131, 80, 2:32, Inner/binary>>},
     {"compressed_inside_tuple", <<131, 104, 1, 80, 1:32, Inner/binary>>},
     {"compressed_garbage", <<131, 80, 1:32, 1, 2, 3, 4>>},
     {"pid_with_integer_node", <<131, 88, 97, 1, 1:32, 0:32, 0:32>>},
     {"export_arity_not_integer", <<131, 113, 100, 1:16, $m, 100, 1:16, $f, 100, 1:16, $x>>},
     {"list_length_overflow", <<131, 108, 16#FFFFFFFF:32, 106>>},
     {"tuple_length_overflow", <<131, 105, 16#FFFFFFFF:32>>},
     {"map_length_overflow", <<131, 116, 16#FFFFFFFF:32, 0>>},
     {"small_big_truncated", <<131, 110, 8, 0, 1, 2>>}].

verdict(Bytes) ->
    try binary_to_term(Bytes) of
        T -> term_to_binary(T)
    catch
        error:badarg -> <<>>
    end.

%% ---------------------------------------------------------------------------------------------------------
%% Checking what Rust sent.

check_record([Name, Default, Utf8, Compressed], Expected) ->
    case lists:keyfind(Name, 1, Expected) of
        false ->
            [{mismatch, Name, <<"all">>, "Rust sent a term Erlang does not have"}];
        {Name, T} ->
            Decodes = [check_decode(Name, "default", Default, T),
                       check_decode(Name, "utf8_atoms", Utf8, T),
                       check_decode(Name, "compressed", Compressed, T)],
            Bytes =
                case has_large_map(T) of
                    true ->
                        [decode_only];
                    false ->
                        [check_bytes(Name, "default", Default, term_to_binary(T), T),
                         check_bytes(Name, "utf8_atoms", Utf8, term_to_binary(T, [{minor_version, 2}]), T)]
                end,
            Decodes ++ Bytes
    end;
check_record(Other, _Expected) ->
    [{mismatch, <<"?">>, <<"all">>, io_lib:format("malformed record of ~b frames", [length(Other)])}].

check_decode(Name, Variant, Bin, T) ->
    try binary_to_term(Bin) of
        T2 when T2 =:= T ->
            ok;
        T2 ->
            {mismatch, Name, Variant,
             io_lib:format("binary_to_term gives ~ts, expected ~ts; ours: ~ts", [show(T2), show(T), hex(Bin)])}
    catch
        error:badarg ->
            {mismatch, Name, Variant, io_lib:format("binary_to_term rejects ours: ~ts", [hex(Bin)])}
    end.

check_bytes(_Name, _Variant, Same, Same, _T) ->
    ok;
check_bytes(Name, Variant, Ours, Theirs, T) ->
    At = first_difference(Ours, Theirs, 0),
    {mismatch, Name, Variant ++ "_bytes",
     io_lib:format("~ts is not byte-identical (ours ~b bytes, erlang ~b bytes, first difference at byte ~b): "
                   "ours ~ts; erlang ~ts",
                   [show(T), byte_size(Ours), byte_size(Theirs), At, hex_around(Ours, At), hex_around(Theirs, At)])}.

first_difference(<<A, RestA/binary>>, <<A, RestB/binary>>, N) -> first_difference(RestA, RestB, N + 1);
first_difference(_, _, N) -> N.

%% Maps of more than 32 keys are hash maps: term_to_binary writes them in hash order, so their bytes are
%% only compared by decoding.
has_large_map(M) when is_map(M) ->
    map_size(M) > ?FLATMAP_MAX orelse lists:any(fun({K, V}) -> has_large_map(K) orelse has_large_map(V) end,
                                                 maps:to_list(M));
has_large_map(T) when is_tuple(T) -> lists:any(fun has_large_map/1, tuple_to_list(T));
has_large_map([H | T]) -> has_large_map(H) orelse has_large_map(T);
has_large_map(F) when is_function(F) ->
    case erlang:fun_info(F, type) of
        {type, local} -> {env, Env} = erlang:fun_info(F, env), has_large_map(Env);
        {type, external} -> false
    end;
has_large_map(_) -> false.

%% ---------------------------------------------------------------------------------------------------------
%% Output.

write_report(Path, Records, Results) ->
    Mismatches = [M || {mismatch, _, _, _} = M <- Results],
    Count = fun(What) -> length([R || R <- Results, R =:= What]) end,
    Lines = [io_lib:format("records ~b~n", [Records]),
             io_lib:format("ok ~b~n", [Count(ok)]),
             io_lib:format("decode_only ~b~n", [Count(decode_only)]),
             io_lib:format("mismatches ~b~n", [length(Mismatches)])
             | [io_lib:format("mismatch\t~ts\t~ts\t~ts~n", [Name, Variant, one_line(Text)])
                || {mismatch, Name, Variant, Text} <- Mismatches]],
    ok = file:write_file(Path, unicode:characters_to_binary(Lines)).

show(T) ->
    one_line(io_lib:write(T, [{chars_limit, 400}, {encoding, unicode}])).

one_line(Text) ->
    [case C of $\n -> $\s; $\t -> $\s; _ -> C end || C <- unicode:characters_to_list(Text)].

%% Decimal bytes, as Erlang prints binaries; long binaries are abbreviated.
hex(Bin) when byte_size(Bin) =< 200 ->
    "<<" ++ lists:join(",", [integer_to_list(B) || B <- binary_to_list(Bin)]) ++ ">>";
hex(Bin) ->
    <<Head:120/binary, _/binary>> = Bin,
    io_lib:format("~ts... (~b bytes)", [hex(Head), byte_size(Bin)]).

hex_around(Bin, _At) when byte_size(Bin) =< 200 ->
    hex(Bin);
hex_around(Bin, At) ->
    From = max(0, At - 16),
    Len = min(byte_size(Bin) - From, 48),
    io_lib:format("(~b bytes) bytes ~b..~b: ~ts", [byte_size(Bin), From, From + Len, hex(binary:part(Bin, From, Len))]).

%% ---------------------------------------------------------------------------------------------------------
%% Files of length-prefixed frames.

write_frames(Path, Frames) ->
    ok = file:write_file(Path, [<<(byte_size(F)):32, F/binary>> || F <- Frames]).

read_frames(Path) ->
    {ok, Bin} = file:read_file(Path),
    split_frames(Bin).

split_frames(<<>>) -> [];
split_frames(<<Len:32, Frame:Len/binary, Rest/binary>>) -> [Frame | split_frames(Rest)].

group([], _N) -> [];
group(List, N) ->
    {Group, Rest} = lists:split(N, List),
    [Group | group(Rest, N)].
