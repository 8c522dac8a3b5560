%% Drives OTP's observer GUI at another node the way a user does: picks the node from observer's Nodes
%% menu, then opens each tab in turn and leaves it open for a while. Run on a node with a display:
%%
%%   erl -sname N -setcookie C -pa Dir -eval "observer_probe:run('target@host', App, Name)"
%%
%% where App is an application running on the target and Name a process registered there. It prints,
%% one a line:
%%
%%   OBSERVER NODE <node>        observer now watches <node>
%%   OBSERVER TAB <i> <title>    tab <i> (from 0) was open for a while and its process is alive; the
%%                               Load Charts tab has drawn samples, the Applications tab lists App
%%                               and has drawn a process tree for it
%%   OBSERVER APPTREE <names>    the names in the boxes of that tree, root first
%%   OBSERVER WINDOW <messages>  the process window of Name (what a double click in the Processes tab
%%                               opens) was open for a while; <messages> is what its Messages tab got
%%   OBSERVER ERROR <event>      an error logged meanwhile (observer logs failed remote calls, and a tab
%%                               that crashes leaves a crash report)
%%   OBSERVER DONE
%%
%% The events are observer's own: a wx record sent to its main process for the menu pick, which it handles
%% as a click, and page changes made on its notebook. observer's state is read with sys:get_state/1, so the probe finds the
%% node's menu entry and the tabs without knowing the record's layout.
-module(observer_probe).
-export([run/3, log/2]).

-include_lib("wx/include/wx.hrl").

%% How long each tab stays open: longer than observer's refresh of the charts and process list.
-define(OPEN_MS, 1500).

run(Target, App, Name) ->
    ok = logger:add_handler(observer_probe, ?MODULE, #{level => error}),
    pong = net_adm:ping(Target),
    ok = observer:start(),
    %% observer lists the connected nodes in its Nodes menu as items 1001, 1002, ...
    Nodes = wait_for_state(fun(State) -> find_list(State, fun(L) -> lists:member(Target, L) end) end),
    Index = index_of(Target, Nodes),
    observer ! #wx{id = 1000 + Index, obj = undefined, userData = [],
                   event = #wxCommand{type = command_menu_selected}},
    Target = wait_for_node(Target, 50),
    io:format("OBSERVER NODE ~s~n", [Target]),
    Panels = wait_for_state(fun(State) -> find_list(State, fun is_panel_list/1) end),
    %% Tabs are changed on observer's own notebook, as a click does, so the page shown is realized and
    %% can be drawn on (the Applications tab draws its tree).
    observer ! {get_debug_info, self()},
    Notebook = receive {observer_debug, Env, NB, _Active} -> wx:set_env(Env), NB after 5000 -> error(no_notebook) end,
    lists:foreach(fun({I, {_Name, Panel, Title}}) ->
                          wxNotebook:setSelection(Notebook, I),
                          timer:sleep(?OPEN_MS),
                          true = is_process_alive(wx_object:get_pid(Panel)),
                          ok = shows(Title, wx_object:get_pid(Panel), App, 50),
                          Title =:= "Applications" andalso
                              io:format("OBSERVER APPTREE ~s~n",
                                        [lists:join(" ", app_tree_names(wx_object:get_pid(Panel)))]),
                          io:format("OBSERVER TAB ~b ~s~n", [I, Title])
                  end,
                  lists:zip(lists:seq(0, length(Panels) - 1), Panels)),
    process_window(Target, Name, Panels),
    Target = observer_wx:get_active_node(),
    true = lists:member(Target, nodes()),
    io:format("OBSERVER DONE~n"),
    observer:stop().

%% Opens the process window of the process registered as Name, as the Processes tab does on a double
%% click, and leaves it open for a while.
process_window(Target, Name, Panels) ->
    Pid = rpc:call(Target, erlang, whereis, [Name]),
    true = is_pid(Pid),
    {_, Processes, _} = lists:keyfind("Processes", 3, Panels),
    Panel = wx_object:get_pid(Processes),
    Panel ! {procinfo_open, Pid},
    Window = wait_for_window(Panel, Pid, 50),
    timer:sleep(?OPEN_MS),
    true = is_process_alive(Window),
    io:format("OBSERVER WINDOW ~w~n", [rpc:call(Target, erlang, process_info, [Pid, messages])]).

%% The Processes tab keeps the windows it opened as {Pid, Window}.
wait_for_window(_Panel, Pid, 0) ->
    error({no_process_window, Pid});
wait_for_window(Panel, Pid, Tries) ->
    [_Parent, State | _] = sys:get_state(Panel),
    case [W || F <- tuple_to_list(State), is_list(F), {P, W} <- F, P =:= Pid] of
        [Window | _] -> wx_object:get_pid(Window);
        [] -> timer:sleep(100), wait_for_window(Panel, Pid, Tries - 1)
    end.

%% Whether a tab shows what it got from the node, from the tab's state: the Load Charts tab counts its
%% samples ({N, Queue}), and the Applications tab keeps the application it shows. A tab that got nothing
%% (observer drops a failed fetch or a misshapen delivery without a word) fails here.
shows(Title, _Pid, _App, 0) ->
    error({tab_shows_nothing, Title});
shows(Title, Pid, App, Tries) ->
    [_Parent, State | _] = sys:get_state(Pid),
    Fields = tuple_to_list(State),
    Shown = case Title of
                "Load Charts" -> [N || {N, {In, Out}} <- Fields, is_integer(N), is_list(In), is_list(Out), N >= 2] =/= [];
                "Applications" -> lists:member(App, Fields) andalso app_tree_names(Pid) =/= [];
                _ -> true
            end,
    case Shown of
        true -> ok;
        false -> timer:sleep(100), shows(Title, Pid, App, Tries - 1)
    end.

%% The names in the boxes of the tree the Applications tab drew (its #app{ptree} of {#box{}, Children}
%% nodes, each box holding a #str{} with the text), root first.
app_tree_names(Pid) ->
    [_Parent, State | _] = sys:get_state(Pid),
    case [Tree || {app, Tree, _N2P, _Links, _Dim} <- tuple_to_list(State)] of
        [Tree | _] -> tree_names(Tree);
        [] -> []
    end.

tree_names({{box, _X, _Y, _W, _H, {str, _SX, _SY, Text, _Pid}}, Children}) ->
    [Text | lists:append([tree_names(Child) || Child <- Children])];
tree_names(_) ->
    [].

%% The logger handler: every error event, on one line.
log(#{msg := Msg}, _Config) ->
    Text = case Msg of
               {report, Report} -> io_lib:format("~0p", [Report]);
               {string, String} -> String;
               {Format, Args} -> io_lib:format(Format, Args)
           end,
    io:format("OBSERVER ERROR ~ts~n", [re:replace(Text, "\n", " ", [global])]).

wait_for_state(Find) ->
    wait_for_state(Find, 50).

wait_for_state(Find, 0) ->
    error({observer_state_not_found, Find});
wait_for_state(Find, Tries) ->
    [_Parent, State, observer_wx | _] = sys:get_state(observer),
    case Find(State) of
        {ok, Found} -> Found;
        error -> timer:sleep(100), wait_for_state(Find, Tries - 1)
    end.

wait_for_node(_Target, 0) ->
    observer_wx:get_active_node();
wait_for_node(Target, Tries) ->
    case observer_wx:get_active_node() of
        Target -> Target;
        _ -> timer:sleep(100), wait_for_node(Target, Tries - 1)
    end.

%% The first field of the state that is a list passing Test.
find_list(State, Test) ->
    case [F || F <- tuple_to_list(State), is_list(F), F =/= [], Test(F)] of
        [Found | _] -> {ok, Found};
        [] -> error
    end.

%% The tabs: {Name, WxObject, Title} each.
is_panel_list(L) ->
    lists:all(fun({_Name, {wx_ref, _, _, _}, Title}) -> io_lib:printable_list(Title);
                 (_) -> false
              end, L).

index_of(X, L) ->
    length(lists:takewhile(fun(Y) -> Y =/= X end, L)) + 1.
