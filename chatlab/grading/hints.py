"""The hint catalogue: one entry per likely mistake, in English and in Russian.

Scenarios name a hint by its key (`scenario.hint("framing-merge")`); the report shows it in
the language chosen with `--lang`. The keys follow the rows of the pitfalls catalogue the
grader was built from; LABELS are the fixed words of a failure report.
"""
from __future__ import annotations

HINTS = {
    "not-implemented": {
        "en": "This part is still a TODO: write the function named in the error, as its docstring says.",
        "ru": "Эта часть ещё не написана (TODO): реализуйте функцию из сообщения об ошибке, как описано в её docstring.",
    },
    "framing-merge": {
        "en": "TCP is a byte stream, not messages: one recv() can hold several lines. Keep a buffer, "
              "split it on b'\\n', handle every complete line, keep the rest for the next recv().",
        "ru": "TCP — поток байтов, а не сообщений: один recv() может вернуть несколько строк. Храните буфер, "
              "делите его по b'\\n', обрабатывайте каждую целую строку, остаток оставляйте до следующего recv().",
    },
    "framing-split": {
        "en": "recv(n) returns UP TO n bytes: a long line arrives in pieces. Keep receiving into a buffer until "
              "b'\\n' arrives; never treat one recv() as one message.",
        "ru": "recv(n) возвращает ДО n байтов: длинная строка приходит частями. Копите байты в буфере, пока не "
              "придёт b'\\n'; один recv() — это не одно сообщение.",
    },
    "utf8-split": {
        "en": "A UTF-8 letter (Cyrillic: 2 bytes) can be cut between two recv() calls. Buffer BYTES up to "
              "b'\\n' and decode whole lines only; and never swallow the exception that hid this.",
        "ru": "Буква в UTF-8 (кириллица — 2 байта) может разрезаться между двумя recv(). Копите БАЙТЫ до "
              "b'\\n' и декодируйте только целые строки; и не глотайте исключение, которое это скрыло.",
    },
    "encoding": {
        "en": "Use UTF-8 everywhere (encode/decode with 'utf-8'); the 'ascii' codec fails on Иван.",
        "ru": "Везде используйте UTF-8 (encode/decode с 'utf-8'); кодек 'ascii' падает на «Иван».",
    },
    "invalid-bytes": {
        "en": "Invalid UTF-8 must not end a session: decode with errors='replace' and carry on.",
        "ru": "Некорректный UTF-8 не должен обрывать сессию: декодируйте с errors='replace' и продолжайте.",
    },
    "crlf": {
        "en": "telnet and nc -C end lines with b'\\r\\n': strip one trailing '\\r' after splitting on '\\n'.",
        "ru": "telnet и nc -C завершают строки b'\\r\\n': после деления по '\\n' уберите один '\\r' в конце.",
    },
    "line-limit": {
        "en": "Cap the line length (PROTOCOL.md: 4096 bytes): answer '! line too long (max 4096 bytes)', drop "
              "that line, keep the connection. An unbounded buffer lets one client eat the server's memory.",
        "ru": "Ограничьте длину строки (PROTOCOL.md: 4096 байт): ответьте '! line too long (max 4096 bytes)', "
              "отбросьте строку, но не соединение. Безразмерный буфер позволяет одному клиенту съесть память.",
    },
    "busy-loop": {
        "en": "The server burns CPU after a client left: an `except: continue` (or a loop on b'') spins forever. "
              "Catch specific errors; on error or b'' remove the client, close its socket, and leave the loop.",
        "ru": "Сервер жжёт процессор после ухода клиента: `except: continue` (или цикл на b'') крутится вечно. "
              "Ловите конкретные исключения; при ошибке или b'' удалите клиента, закройте сокет и выйдите из цикла.",
    },
    "eof": {
        "en": "recv() returning b'' means the peer closed its side: stop reading, clean up, tell the others.",
        "ru": "recv(), вернувший b'', значит, что собеседник закрыл соединение: прекратите чтение, приберите, "
              "сообщите остальным.",
    },
    "dead-client": {
        "en": "One failed send must not abort the broadcast: put a try around EACH recipient's send, and drop "
              "only the recipient that failed.",
        "ru": "Ошибка отправки одному клиенту не должна прерывать рассылку: оборачивайте в try отправку КАЖДОМУ "
              "получателю и удаляйте только того, кому отправить не удалось.",
    },
    "lock": {
        "en": "The list of users is shared by all client threads: guard every read and change with one Lock, "
              "copy it under the lock, and send outside the lock.",
        "ru": "Список пользователей общий для всех потоков: защищайте каждое чтение и изменение одним Lock, "
              "копируйте его под блокировкой, а отправляйте вне её.",
    },
    "reset": {
        "en": "A client can vanish with a reset (ConnectionResetError): treat it like b'' (a normal leave).",
        "ru": "Клиент может исчезнуть со сбросом соединения (ConnectionResetError): обрабатывайте это как b'' "
              "(обычный выход).",
    },
    "echo-tail": {
        "en": "Echo until recv() returns b'' (the client half-closed), with sendall(): stopping early or using "
              "send() loses the tail.",
        "ru": "Отвечайте эхом, пока recv() не вернёт b'' (клиент закрыл свою сторону), используя sendall(): "
              "ранний выход или send() теряют конец данных.",
    },
    "one-client": {
        "en": "Serve clients concurrently: accept() in a loop and start a thread per client; never handle a "
              "client inside the accept loop.",
        "ru": "Обслуживайте клиентов одновременно: accept() в цикле и по потоку на клиента; не обрабатывайте "
              "клиента внутри цикла accept.",
    },
    "sendall": {
        "en": "send() may send only part of the data and returns how much: use sendall().",
        "ru": "send() может отправить только часть данных и возвращает, сколько отправлено: используйте sendall().",
    },
    "slow-reader": {
        "en": "A client that stops reading makes sendall() block. If a speaker's thread does that send, the whole "
              "room freezes: give each client an outgoing queue and a writer thread (or a send timeout), and "
              "drop a client whose queue passes a limit.",
        "ru": "Клиент, который перестал читать, блокирует sendall(). Если отправляет поток говорящего, замирает "
              "весь чат: дайте каждому клиенту очередь исходящих и поток-писатель (или тайм-аут отправки) и "
              "отключайте клиента, чья очередь превысила предел.",
    },
    "handshake-in-accept": {
        "en": "Read the nickname in the client's own thread, not in the accept loop: a client that never sends "
              "one must not block everybody else from joining.",
        "ru": "Читайте ник в потоке клиента, а не в цикле accept: клиент, который не прислал ник, не должен "
              "мешать подключаться остальным.",
    },
    "stop": {
        "en": "shutdown() must make serve_forever() return promptly and disconnect the clients: use daemon "
              "threads or stop them explicitly; closing a listener does not wake accept() on Linux, "
              "shutdown(SHUT_RDWR) does.",
        "ru": "shutdown() должен быстро завершать serve_forever() и отключать клиентов: используйте потоки-демоны "
              "или останавливайте их явно; close() слушающего сокета не будит accept() в Linux, а "
              "shutdown(SHUT_RDWR) будит.",
    },
    "reuseaddr": {
        "en": "After a server closes connections, its port stays in TIME_WAIT for a minute: set SO_REUSEADDR "
              "before bind() (socket.create_server() does it for you on POSIX) so a restart can bind at once.",
        "ru": "После закрытия соединений сервером порт минуту остаётся в TIME_WAIT: установите SO_REUSEADDR до "
              "bind() (socket.create_server() делает это сам в POSIX), чтобы перезапуск сразу занял порт.",
    },
    "client-thread": {
        "en": "The client must receive in a thread of its own: lines from the server have to appear while "
              "input() is waiting for the keyboard.",
        "ru": "Клиент должен принимать сообщения в отдельном потоке: строки от сервера должны появляться, "
              "пока input() ждёт ввода с клавиатуры.",
    },
    "client-eof": {
        "en": "When recv() returns b'' the server has closed: end the receiving loop (and the client) instead of "
              "printing empty lines forever.",
        "ru": "Когда recv() возвращает b'', сервер закрыл соединение: завершите цикл приёма (и клиента), а не "
              "печатайте пустые строки бесконечно.",
    },
    "client-decode": {
        "en": "The client must keep receiving after a bad or split message: buffer bytes to b'\\n', decode whole "
              "lines with errors='replace'.",
        "ru": "Клиент должен продолжать приём после плохого или разрезанного сообщения: копите байты до b'\\n', "
              "декодируйте целые строки с errors='replace'.",
    },
    "client-quit": {
        "en": "At the end of input (Ctrl+D: input() raises EOFError) leave politely, then exit: the echo client "
              "shuts down its sending side (shutdown(SHUT_WR)); a chat client sends /quit (UDP: /leave).",
        "ru": "В конце ввода (Ctrl+D: input() бросает EOFError) уходите вежливо и завершайтесь: эхо-клиент "
              "закрывает свою сторону отправки (shutdown(SHUT_WR)); клиент чата отправляет /quit (UDP: /leave).",
    },
    "echo-to-sender": {
        "en": "Broadcast to everyone EXCEPT the sender (PROTOCOL.md: the sender never receives its own message).",
        "ru": "Рассылайте всем, КРОМЕ отправителя (PROTOCOL.md: отправитель не получает своё сообщение).",
    },
    "protocol": {
        "en": "Follow PROTOCOL.md to the byte: notices start with '* ', errors with '! ', chat lines are "
              "'[nick] text', every line ends with '\\n'.",
        "ru": "Следуйте PROTOCOL.md до байта: уведомления начинаются с '* ', ошибки с '! ', сообщения — "
              "'[nick] text', каждая строка заканчивается '\\n'.",
    },
    "nicknames": {
        "en": "The first line (lab 4: /join NICK) is the nickname: reject taken ('! nickname taken') and invalid ones and wait for "
              "another; the server, never the client, writes '[nick]' in front of each line.",
        "ru": "Первая строка (лабораторная 4: /join NICK) — ник: отклоняйте занятые ('! nickname taken') и некорректные и ждите новый; "
              "'[nick]' перед строкой пишет сервер, а не клиент.",
    },
    "commands": {
        "en": "Implement the commands as PROTOCOL.md lists them: /users, /msg NICK TEXT, /quit (lab 4: /leave).",
        "ru": "Реализуйте команды так, как они описаны в PROTOCOL.md: /users, /msg NICK TEXT, /quit "
              "(лабораторная 4: /leave).",
    },
    "leave-notice": {
        "en": "When a client leaves (/quit, b'', a reset), remove it and tell the others '* nick left'.",
        "ru": "Когда клиент уходит (/quit, b'', сброс), удалите его и сообщите остальным '* nick left'.",
    },
    "two-seats": {
        "en": "Lab 2 holds two users: a third connection gets '! chat is full (2 users)' and is closed.",
        "ru": "В лабораторной 2 — два пользователя: третье подключение получает '! chat is full (2 users)' и "
              "закрывается.",
    },
    "thread-per-client": {
        "en": "The assignment requires a thread per client on the TCP server: start one for every accepted "
              "connection.",
        "ru": "Задание требует на TCP-сервере отдельный поток на каждого клиента: запускайте его для каждого "
              "принятого соединения.",
    },
    "load": {
        "en": "Under load nothing may be lost, duplicated or reordered per sender: check the lock, framing and "
              "sendall(), and that no client's thread blocks the others.",
        "ru": "Под нагрузкой ничего не должно теряться, дублироваться или менять порядок у одного отправителя: "
              "проверьте блокировку, разбиение на строки, sendall() и что поток одного клиента не мешает другим.",
    },
    "key-by-address": {
        "en": "Several clients share one IP: key UDP members by the whole address (ip, port).",
        "ru": "У нескольких клиентов один IP: храните участников UDP по полному адресу (ip, port).",
    },
    "udp-leave": {
        "en": "Forget a member on /leave and after idle_timeout seconds of silence; never send to it again.",
        "ru": "Забывайте участника по /leave и после idle_timeout секунд молчания; больше ему не отправляйте.",
    },
    "udp-size": {
        "en": "Receive with a 65,535-byte buffer (a smaller one silently truncates), and refuse messages over "
              "4096 bytes with '! message too long (max 4096 bytes)'.",
        "ru": "Принимайте в буфер на 65 535 байт (меньший молча обрезает датаграммы) и отклоняйте сообщения "
              "длиннее 4096 байт: '! message too long (max 4096 bytes)'.",
    },
    "udp-join": {
        "en": "Datagrams from an address that has not joined get '! join first: /join NICK'; /join NICK answers "
              "'* welcome NICK' and tells the others.",
        "ru": "Датаграммы с адреса, который не присоединился, получают '! join first: /join NICK'; на /join NICK "
              "ответ '* welcome NICK', остальным — уведомление.",
    },
    "echo-loop": {
        "en": "An echo server answers everything a client sends, not just its first message: call recv() in a loop "
              "on the same connection, send back each piece, and stop only when recv() returns b'' (the client "
              "closed its side).",
        "ru": "Эхо-сервер отвечает на всё, что присылает клиент, а не только на первое сообщение: вызывайте recv() "
              "в цикле на том же соединении, отправляйте обратно каждый фрагмент и завершайте цикл, только когда "
              "recv() вернёт b'' (клиент закрыл свою сторону соединения).",
    },
    "nickname-race": {
        "en": "Checking that a nickname is free and taking it must be one step: do both inside the same "
              "`with lock:`. A check made before the lock is taken lets two clients that ask for the same name at "
              "once both pass it (a check-then-act race).",
        "ru": "Проверка того, что ник свободен, и его занятие должны быть одним действием: выполняйте их внутри "
              "одного и того же `with lock:`. Если проверять до захвата блокировки, два клиента, одновременно "
              "запросившие один ник, оба пройдут проверку (гонка «проверить, затем действовать»).",
    },
    "send-under-lock": {
        "en": "Never send while holding the lock that guards the list of users: a client that stops reading makes "
              "send() and sendall() block, the lock stays taken, and nobody can join, leave or ask /users. Copy the "
              "list under the lock, release it, then send.",
        "ru": "Не отправляйте данные, удерживая блокировку, которая защищает список пользователей: если клиент "
              "перестал читать, send() и sendall() блокируются, блокировка остаётся захваченной, и никто не может "
              "ни войти, ни выйти, ни запросить /users. Скопируйте список под блокировкой, освободите её и только "
              "потом отправляйте.",
    },
    "ghost": {
        "en": "A client may leave before it has sent its nickname: clean up on every way out of the client's thread "
              "(try/finally), so that it neither keeps a seat nor stays in the list of users.",
        "ru": "Клиент может отключиться, не успев прислать ник: освобождайте ресурсы при любом выходе из потока "
              "клиента (try/finally), чтобы он не занимал место и не оставался в списке пользователей.",
    },
    "quit-relayed": {
        "en": "/quit is a command to the server, not a chat line: recognise it before relaying anything, answer "
              "'* bye', and never send '[nick] /quit' to the others.",
        "ru": "/quit — команда серверу, а не реплика в чате: распознавайте её до пересылки, отвечайте '* bye' и "
              "никогда не рассылайте остальным '[nick] /quit'.",
    },
    "unfinished-line": {
        "en": "Only a line that ends in b'\\n' is a message: when a connection closes in the middle of a line, drop "
              "the unfinished rest instead of relaying it.",
        "ru": "Сообщение — только строка, завершённая b'\\n': если соединение закрылось посреди строки, отбросьте "
              "незавершённый остаток, а не пересылайте его.",
    },
    "race-not-set-up": {
        "en": "To make a race certain, the grader holds the server's threads at chosen points (a recv() that saw "
              "a reset, a send to one client), and one of them never got there. Check that each client is served "
              "by a thread of its own that reads with recv() and relays each line to every other member; if it "
              "is, tell your instructor.",
        "ru": "Чтобы гонка возникала наверняка, грейдер останавливает потоки сервера в выбранных точках (recv(), "
              "обнаруживший сброс соединения, отправка одному клиенту), но один из потоков туда так и не дошёл. "
              "Убедитесь, что каждого клиента обслуживает собственный поток, который читает через recv() и "
              "пересылает каждую строку всем остальным участникам; если это так, сообщите преподавателю.",
    },
}

# What a scenario needs working before it can check its own point (Scenario.setting_up), and the
# module-level FEATURE_TESTS of each grader module names the test that checks each of them.
FEATURES = {
    "joining": {"en": "joining (the nickname, the welcome, the join notice)",
                "ru": "вход в чат (ник, приветствие, уведомление о входе)"},
    "leaving": {"en": "leaving (the '* nick left' notice)", "ru": "выход из чата (уведомление '* nick left')"},
    "quitting": {"en": "/quit", "ru": "команда /quit"},
    "relaying": {"en": "relaying a line to the others", "ru": "пересылка строки остальным"},
}

LABELS = {
    "not-reached": {"en": "Could not get to the point of this test", "ru": "Проверка не дошла до своей сути"},
    "does-not-work-yet": {"en": "{feature} does not work yet (see {test})",
                          "ru": "{feature} пока не работает (см. {test})"},
    "what-happened": {"en": "What happened", "ru": "Что произошло"},
    "steps": {"en": "Steps", "ru": "Шаги"},
    "received": {"en": "What each client received", "ru": "Что получил каждый клиент"},
    "problem": {"en": "Problem", "ru": "Проблема"},
    "hint": {"en": "Hint", "ru": "Подсказка"},
    "threads": {"en": "Where the server's threads were", "ru": "Где находились потоки сервера"},
    "errors": {"en": "Errors in the server's threads", "ru": "Ошибки в потоках сервера"},
    "rerun": {"en": "Re-run only this test", "ru": "Перезапустить только этот тест"},
    "printed": {"en": "What the client printed", "ru": "Что напечатал клиент"},
    "client-stderr": {"en": "What the client wrote to stderr", "ru": "Что клиент вывел в stderr"},
    "server-received": {"en": "What the grader's server received from the client",
                        "ru": "Что сервер грейдера получил от клиента"},
}


def hint(key: str, lang: str = "en") -> str:
    entry = HINTS[key]
    return entry.get(lang) or entry["en"]


def label(key: str, lang: str = "en") -> str:
    entry = LABELS[key]
    return entry.get(lang) or entry["en"]


def feature(key: str, lang: str = "en") -> str:
    entry = FEATURES[key]
    return entry.get(lang) or entry["en"]
