"""The hint catalogue: one entry per likely mistake, in English and in Russian.

Scenarios name a hint by its key (`scenario.hint("framing-merge")`); the report shows it in
the language chosen with `--lang`. The keys follow the rows of the pitfalls catalogue the
grader was built from; LABELS are the fixed words of a failure report.
"""
from __future__ import annotations

HINTS = {
    "thread-died": {
        "en": "An exception ended a thread of your server, and with it the service of its client. Read the error and "
              "its line above; handle the failures a socket can have (ConnectionResetError, a b'' from recv()) "
              "where they happen, and clean up the client in a `finally` so the others hear it left.",
        "ru": "Исключение завершило поток вашего сервера, а с ним и обслуживание его клиента. Прочитайте ошибку и "
              "строку выше; обрабатывайте сбои сокета (ConnectionResetError, b'' от recv()) там, где они "
              "возникают, и освобождайте ресурсы клиента в `finally`, чтобы остальные узнали о его уходе.",
    },
    "client-crash": {
        "en": "An exception ended your client, or its receiving thread. Read the error and its line above: a "
              "client must survive whatever the server sends (bytes that are not UTF-8: decode with "
              "errors=\"replace\"; a line longer than one recv(); the server closing the connection) and end "
              "only at the end of input or when it leaves.",
        "ru": "Исключение завершило ваш клиент или его поток приёма. Прочитайте ошибку и строку выше: клиент "
              "должен переживать всё, что присылает сервер (байты не в UTF-8: декодируйте с "
              "errors=\"replace\"; строку длиннее одного recv(); закрытие соединения сервером), и завершаться "
              "только в конце ввода или когда уходит сам.",
    },
    "process-exited": {
        "en": "The whole server process ended: look for sys.exit(), os._exit() or exit() in your code, or a crash "
              "in the thread that calls serve_forever(). A server ends only when shutdown() is called.",
        "ru": "Завершился весь процесс сервера: ищите в коде sys.exit(), os._exit() или exit() либо падение в "
              "потоке, который вызывает serve_forever(). Сервер завершается только по вызову shutdown().",
    },
    "silent": {
        "en": "Your server is waiting for something that will not come. See where its threads wait (below): a "
              "thread per client blocked in recv() is right; a thread waiting on a lock, or a line already "
              "read and kept unhandled, is not. Did it send the expected line at all (PROTOCOL.md)?",
        "ru": "Ваш сервер ждёт того, что не придёт. Посмотрите ниже, где ждут его потоки: поток на клиента, "
              "заблокированный в recv(), — это правильно; поток, ждущий блокировку, или уже прочитанная, но не "
              "обработанная строка — нет. Отправил ли сервер ожидаемую строку вообще (PROTOCOL.md)?",
    },
    "closed": {
        "en": "The server closes a connection only when the client leaves (/quit, b'', a reset) or breaks a rule "
              "PROTOCOL.md names. Find where your server closes sockets, and why it got there.",
        "ru": "Сервер закрывает соединение, только когда клиент уходит (/quit, b'', сброс) или нарушает правило "
              "из PROTOCOL.md. Найдите, где ваш сервер закрывает сокеты и почему он туда попал.",
    },
    "printed-error": {
        "en": "Do not only print an exception: a printed error is one nobody handles. Let unexpected ones "
              "propagate (the grader then shows where), and handle the expected ones for real.",
        "ru": "Не ограничивайтесь печатью исключения: напечатанную ошибку никто не обработает. Неожиданные "
              "пропускайте дальше (тогда система проверки покажет, где они возникли), а ожидаемые "
              "обрабатывайте по-настоящему.",
    },
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
        "ru": "После ухода клиента сервер впустую загружает процессор: `except: continue` (или цикл, снова и снова "
              "получающий b'') превращается в бесконечное активное ожидание. Перехватывайте конкретные исключения; "
              "при ошибке или b'' удалите клиента, закройте сокет и выйдите из цикла.",
    },
    "eof": {
        "en": "recv() returning b'' means the peer closed its side: stop reading, clean up, tell the others.",
        "ru": "Если recv() вернул b'', значит, другая сторона закрыла соединение: прекратите чтение, освободите "
              "ресурсы и сообщите остальным.",
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
        "ru": "Клиент может исчезнуть, сбросив соединение (ConnectionResetError): обрабатывайте это как b'' "
              "(обычный выход из чата).",
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
              "room freezes: give each client an outgoing queue and a writer thread (the bonus Outbox), and "
              "drop a client whose queue passes a limit.",
        "ru": "Если клиент перестал читать, sendall(), отправляющий ему данные, блокируется. Если эту отправку "
              "выполняет поток участника, приславшего строку, замирает весь чат: заведите для каждого клиента "
              "очередь отправки и поток отправки (бонусный Outbox) и отключайте клиента, чья очередь превысила "
              "предел.",
    },
    "send-lock": {
        "en": "Two threads may send to one client at once (its own thread, and the thread of whoever speaks). "
              "sendall() may take several send() calls, and the other thread's line then lands inside yours: "
              "give each connection a lock and hold it around its sendall().",
        "ru": "Одному клиенту могут одновременно отправлять два потока (его собственный и поток того, кто "
              "говорит). sendall() может выполнить несколько вызовов send(), и строка другого потока окажется "
              "внутри вашей: заведите блокировку для каждого соединения и держите её на время sendall().",
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
        "ru": "В конце ввода (Ctrl+D: input() выбрасывает EOFError) завершите сеанс по протоколу и только потом "
              "выходите: эхо-клиент закрывает свою сторону соединения на отправку (shutdown(SHUT_WR)), клиент "
              "чата отправляет /quit (в UDP — /leave).",
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
        "ru": "У нескольких клиентов может быть один IP: храните участников UDP по ключу — полному адресу "
              "(ip, port).",
    },
    "udp-leave": {
        "en": "Forget a member on /leave and after idle_timeout seconds of silence; never send to it again.",
        "ru": "Забывайте участника по /leave и после idle_timeout секунд молчания; больше ему не отправляйте.",
    },
    "udp-size": {
        "en": "Receive with a 65,535-byte buffer (a smaller one silently truncates), and refuse messages over "
              "4096 bytes with '! message too long (max 4096 bytes)'.",
        "ru": "Принимайте в буфер на 65 535 байт (меньший молча обрезает дейтаграммы) и отклоняйте сообщения "
              "длиннее 4096 байт: '! message too long (max 4096 bytes)'.",
    },
    "udp-join": {
        "en": "Datagrams from an address that has not joined get '! join first: /join NICK'; /join NICK answers "
              "'* welcome NICK' and tells the others.",
        "ru": "Дейтаграммы с адреса, который не вошёл в чат, получают '! join first: /join NICK'; на /join NICK "
              "ответ '* welcome NICK', остальным — уведомление.",
    },
    "does-not-load": {
        "en": "Python could not load this file, so none of its tests could run. Run it yourself from the lab's "
              "folder (python server.py --port 5050, or python client.py --port 5050 --name you) and fix the "
              "first error it reports: a typo, a missing import, a module that is not installed, or top-level "
              "code that crashes or waits. Code that should run only when the file is started as a program "
              "belongs under if __name__ == \"__main__\":.",
        "ru": "Python не смог загрузить этот файл, поэтому ни один его тест не запускался. Запустите файл сами "
              "из папки лабораторной (python server.py --port 5050 или python client.py --port 5050 --name you) "
              "и исправьте первую ошибку, о которой он сообщит: опечатку, недостающий import, неустановленный "
              "модуль или код верхнего уровня, который завершается с ошибкой или чего-то ждёт. Код, который "
              "должен выполняться только при запуске файла как программы, поместите под "
              "if __name__ == \"__main__\":.",
    },
    "file-missing": {
        "en": "The grader looks for each lab's server.py and client.py in the lab's folder (e.g. "
              "lab2_two_user_chat/server.py) inside the folder it grades (--target): keep the folder and file "
              "names of the starter code.",
        "ru": "Система проверки ищет server.py и client.py каждой лабораторной в её папке (например, "
              "lab2_two_user_chat/server.py) внутри проверяемой папки (--target): сохраняйте имена папок и "
              "файлов из заготовки.",
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
    "control-characters": {
        "en": "Text from a client may hold control characters: b'\\x1b[2J' clears the screen of everyone who "
              "receives it, a bare b'\\r' lets a line write over its '[nick] '. Before relaying a client's text "
              "(chat, /msg), replace every control character (unicodedata.category(c) == 'Cc') except tab with "
              "'\\ufffd' (PROTOCOL.md, \"Control characters\").",
        "ru": "Текст от клиента может содержать управляющие символы: b'\\x1b[2J' очищает экран у всех, кто его "
              "получит, а одиночный b'\\r' позволяет затереть '[nick] ' в начале строки. Прежде чем пересылать "
              "текст клиента (реплики, /msg), замените каждый управляющий символ "
              "(unicodedata.category(c) == 'Cc'), кроме табуляции, на '\\ufffd' (PROTOCOL.md, раздел "
              "\"Control characters\").",
    },
    "race-not-set-up": {
        "en": "To make a race certain, the grader holds the server's threads at chosen points (a recv() that saw "
              "a reset, a send to one client), and one of them never got there. Check that each client is served "
              "by a thread of its own that reads with recv() and relays each line to every other member; if it "
              "is, tell your instructor.",
        "ru": "Чтобы гонка возникала наверняка, система проверки останавливает потоки сервера в выбранных "
              "точках (recv(), обнаруживший сброс соединения, отправка одному клиенту), но один из потоков "
              "туда так и не дошёл. Убедитесь, что каждого клиента обслуживает собственный поток, который "
              "читает через recv() и пересылает каждую строку всем остальным участникам; если это так, "
              "сообщите преподавателю.",
    },
    "rudp-protocol": {
        "en": "Lab 5 wraps every chat line as 'D n line' and answers each with 'A n' (PROTOCOL.md, \"Lab 5\"): "
              "number your lines to each member 1, 2, 3... separately, and acknowledge every data datagram.",
        "ru": "В лабораторной 5 каждая строка чата передаётся как 'D n строка', и на каждую отвечают 'A n' "
              "(PROTOCOL.md, раздел \"Lab 5\"): нумеруйте строки каждому участнику отдельно (1, 2, 3...) и "
              "подтверждайте каждую дейтаграмму с данными.",
    },
    "rudp-retransmit": {
        "en": "UDP loses datagrams: keep each line you send until an acknowledgement covers it, and send it again "
              "when its timeout passes (the deadline in a table, the wait in select()).",
        "ru": "UDP теряет дейтаграммы: храните каждую отправленную строку, пока её не покроет подтверждение, и "
              "отправляйте её повторно по истечении тайм-аута (срок — в таблице, ожидание — в select()).",
    },
    "rudp-duplicate": {
        "en": "A copy of a line already delivered (its acknowledgement was lost, so it was sent again) must be "
              "acknowledged again but not delivered again: deliver only the number you expect next.",
        "ru": "Копию уже доставленной строки (её подтверждение потерялось, и её отправили повторно) нужно "
              "подтвердить снова, но не доставлять повторно: доставляйте только ожидаемый следующий номер.",
    },
    "rudp-order": {
        "en": "Datagrams may overtake each other: deliver line n only after line n - 1. Keep a line that came "
              "early (or drop it: it will be sent again) until the gap before it is filled.",
        "ru": "Дейтаграммы могут обгонять друг друга: доставляйте строку n только после строки n - 1. Строку, "
              "пришедшую раньше времени, придержите (или отбросьте: её пришлют снова), пока не заполнится пропуск.",
    },
    "rudp-ack": {
        "en": "'A n' is cumulative: it says every line up to n was delivered. Acknowledge the highest number "
              "delivered in order, after delivering, never the number of a line that is still waiting for a gap.",
        "ru": "Подтверждение 'A n' кумулятивное: оно означает, что доставлены все строки до n включительно. "
              "Подтверждайте наибольший номер, доставленный по порядку, и только после доставки, но не номер "
              "строки, которая ещё ждёт заполнения пропуска.",
    },
    "rudp-client-send": {
        "en": "The client numbers its own lines: 'D 1 /join NICK' first, then 'D 2 ...', 'D 3 ...' for each typed "
              "line, in UTF-8, and sends line n + 1 only after 'A n' came (stop-and-wait: Sender.send returns once "
              "its line is acknowledged).",
        "ru": "Клиент нумерует свои строки сам: сначала 'D 1 /join NICK', затем 'D 2 ...', 'D 3 ...' для каждой "
              "введённой строки, в UTF-8, и отправляет строку n + 1 только после того, как пришло 'A n' (протокол "
              "с остановкой и ожиданием: Sender.send возвращает управление, когда его строка подтверждена).",
    },
    "rudp-client-retransmit": {
        "en": "Wait for a line's acknowledgement with a timeout (Condition.wait_for(..., timeout)), not for ever: "
              "when none comes, send the same 'D n line' again, doubling the timeout up to 1 s, and never send line "
              "n + 1 before 'A n'.",
        "ru": "Ждите подтверждения строки с тайм-аутом (Condition.wait_for(..., timeout)), а не бесконечно: если "
              "оно не пришло, снова отправьте ту же 'D n строка', удваивая тайм-аут (не больше 1 с), и никогда не "
              "отправляйте строку n + 1 раньше 'A n'.",
    },
    "rudp-client-ack": {
        "en": "The client's receiving thread must answer every 'D n line' from the server with 'A k', k the highest "
              "line printed so far in order (a copy too), and print each new line as it comes, while input() waits "
              "for the keyboard: the server sends a line again and again until it is acknowledged.",
        "ru": "Поток приёма клиента должен отвечать на каждую 'D n строка' от сервера подтверждением 'A k', где k — "
              "наибольший номер строки, уже напечатанной по порядку (и на копию тоже), и печатать каждую новую "
              "строку сразу, пока input() ждёт ввода с клавиатуры: сервер отправляет строку снова и снова, пока её "
              "не подтвердят.",
    },
    "rudp-give-up": {
        "en": "A peer that never acknowledges is gone: after max_tries sends of one line, give it up (forget the "
              "member, tell the room '* NICK left') instead of retrying for ever.",
        "ru": "Узел, который ничего не подтверждает, исчез: после max_tries отправок одной строки откажитесь от "
              "него (удалите участника, сообщите остальным '* NICK left'), а не повторяйте бесконечно.",
    },
    "rudp-timer-spin": {
        "en": "A retransmission timer must sleep until its deadline: give select() (or Event.wait) the time left "
              "to the earliest deadline, never 0 in a loop, which keeps a core busy for nothing.",
        "ru": "Таймер повторной передачи должен спать до своего срока: передайте select() (или Event.wait) время "
              "до ближайшего срока, а не 0 в цикле, который впустую занимает ядро процессора.",
    },
    "rudp-timeout": {
        "en": "A fixed tiny timeout floods a slow network with copies. Measure the round trip of lines sent once, "
              "set the timeout to the smoothed round trip plus 4 times its variation (RFC 6298), with a floor and "
              "a ceiling, and double it at each retransmission.",
        "ru": "Фиксированный малый тайм-аут заваливает медленную сеть копиями. Измеряйте время кругового обхода "
              "(RTT) для строк, отправленных один раз, задавайте тайм-аут как сглаженное RTT плюс 4 его отклонения "
              "(RFC 6298) с нижней и верхней границей и удваивайте его при каждой повторной передаче.",
    },
    "rudp-bad-datagram": {
        "en": "Datagrams from the network can be anything: ignore one that is neither 'D n line' nor 'A n', a "
              "number far ahead, and an acknowledgement of a line you never sent; none may change your state.",
        "ru": "Из сети может прийти что угодно: игнорируйте дейтаграмму, которая не 'D n строка' и не 'A n', "
              "номер далеко впереди и подтверждение строки, которую вы не отправляли; ничто из этого не должно "
              "менять состояние.",
    },
    "rudp-window": {
        "en": "Bonus: a sliding window keeps up to WINDOW lines unacknowledged at once instead of one "
              "(stop-and-wait), so a round trip carries several lines.",
        "ru": "Бонус: скользящее окно держит неподтверждёнными до WINDOW строк одновременно, а не одну "
              "(протокол с остановкой и ожиданием), и за один круговой обход передаётся несколько строк.",
    },
    "rudp-fast-retransmit": {
        "en": "Bonus: an acknowledgement that covers nothing new says a later line arrived and the oldest did "
              "not. In acknowledged(), count such acknowledgements in a row and return `True` at the "
              "FAST_RESEND_AFTER-th; handle_datagram() then sends the oldest line again at once (its tries + 1), "
              "without waiting for its timeout.",
        "ru": "Бонус: подтверждение, которое не покрывает ничего нового, говорит, что более поздняя строка "
              "дошла, а самая старая — нет. В acknowledged() считайте такие подтверждения подряд и верните `True` "
              "на FAST_RESEND_AFTER-м; тогда handle_datagram() сразу передаёт самую старую строку повторно "
              "(число попыток + 1), не дожидаясь её тайм-аута.",
    },
}

# What a diagnosis observed (chatlab/grading/diagnosis.py), to lead a failure report. The hint that
# follows from each is HINTS[key] where such a key exists, else the pitfall's hint it names.
DIAGNOSES = {
    "thread-died": {
        "en": "A thread of the server died: {thread!r} (serving {client}) raised {error} at {where}.",
        "ru": "Поток сервера завершился с ошибкой: {thread!r} (обслуживал {client}) выбросил {error} в {where}.",
    },
    "process-exited": {
        "en": "The server's process ended: {why}.",
        "ru": "Процесс сервера завершился: {why}.",
    },
    "client-crashed": {
        "en": "Your client died of an exception: {error}, in thread {thread!r}, at {where}.",
        "ru": "Ваш клиент завершился из-за исключения: {error}, поток {thread!r}, место: {where}.",
    },
    "client-exited": {
        "en": "{client} ended too early: {fate}.",
        "ru": "{client} завершился слишком рано: {fate}.",
    },
    "silent": {
        "en": "The server fell silent: while {client} waited, every thread of the server was waiting too, "
              "and nothing was on its way to it.",
        "ru": "Сервер замолчал: пока {client} ждал, все потоки сервера тоже ждали, и к серверу ничего не шло.",
    },
    "closed": {
        "en": "The server closed {client}'s connection.",
        "ru": "Сервер закрыл соединение с {client}.",
    },
    "echoed-to-sender": {
        "en": "The line {line} also went back to its sender, {author}.",
        "ru": "Строка {line} вернулась и к своему отправителю, {author}.",
    },
    "crlf-kept": {
        "en": "{client} got {line}: the '\\r' of a CRLF line ending was kept.",
        "ru": "{client} получил {line}: '\\r' из окончания строки CRLF остался в тексте.",
    },
    "replaced": {
        "en": "{client} got {line} where {wanted} was due: letters turned into U+FFFD (�), so bytes were "
              "decoded before the whole letter had arrived.",
        "ru": "{client} получил {line} вместо {wanted}: буквы превратились в U+FFFD (�), значит, байты "
              "декодировались до того, как буква пришла целиком.",
    },
    "merged": {
        "en": "{client} got {line} without its author's prefix where {wanted} was due: two lines that arrived "
              "in one recv() were relayed as one message.",
        "ru": "{client} получил {line} без префикса автора вместо {wanted}: две строки, пришедшие одним "
              "recv(), были пересланы как одно сообщение.",
    },
    "split": {
        "en": "{client} got {line}, the start of {wanted}, as a line of its own: a line that arrived in two "
              "recv() calls was relayed in two pieces.",
        "ru": "{client} получил {line}, начало строки {wanted}, отдельной строкой: строка, пришедшая за два "
              "вызова recv(), была переслана двумя частями.",
    },
    "interleaved": {
        "en": "{client} got {line}: {wanted} was cut off after {cut} characters and {intruder} came inside it. "
              "Two threads sent to {client} at the same time.",
        "ru": "{client} получил {line}: строка {wanted} оборвалась после {cut} символов, и внутри неё оказалось "
              "{intruder}. Два потока отправляли {client} одновременно.",
    },
    "near-miss": {
        "en": "{client} got {line} where PROTOCOL.md says {wanted}: the same words in another format.",
        "ru": "{client} получил {line}, а PROTOCOL.md требует {wanted}: те же слова в другом формате.",
    },
    "spinning": {
        "en": "The server kept a core busy while nothing moved on its sockets: a thread spins at {where}.",
        "ru": "Сервер загружал ядро процессора, хотя через его сокеты ничего не шло: поток в {where} занят "
              "активным ожиданием.",
    },
    "printed-error": {
        "en": "The server printed an error: {line}. An exception was caught and printed, so the test never "
              "saw it; it is probably why this test failed.",
        "ru": "Сервер напечатал ошибку: {line}. Исключение было перехвачено и напечатано, поэтому тест его "
              "не увидел; скорее всего, тест не прошёл именно из-за него.",
    },
}

# What a scenario needs working before it can check its own point (Scenario.setting_up), and the
# module-level FEATURE_TESTS of each grader module names the test that checks each of them.
FEATURES = {
    "joining": {"en": "joining (the nickname, the welcome, the join notice)",
                "ru": "вход в чат (ник, приветствие, уведомление о входе)"},
    "leaving": {"en": "leaving (the '* nick left' notice)", "ru": "выход из чата (уведомление '* nick left')"},
    "acknowledging": {"en": "acknowledging the server's lines ('A n')",
                      "ru": "подтверждение строк сервера ('A n')"},
    "quitting": {"en": "/quit", "ru": "команда /quit"},
    "relaying": {"en": "relaying a line to the others", "ru": "пересылка строки остальным"},
}

LABELS = {
    "not-reached": {"en": "Could not get to the point of this test", "ru": "Проверка не дошла до своей сути"},
    "does-not-work-yet": {"en": "{feature} does not work yet (see {test})",
                          "ru": "{feature} пока не работает (см. {test})"},
    "what-happened": {"en": "What happened", "ru": "Что произошло"},
    "diagnosis": {"en": "Diagnosis", "ru": "Диагноз"},
    "server-printed": {"en": "What the server printed ({size:,} characters; the last lines)",
                       "ru": "Что напечатал сервер ({size:,} символов; последние строки)"},
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
                        "ru": "Что тестовый сервер системы проверки получил от клиента"},
    "bonus-not-counted": {"en": "Passed, but not counted: bonus points count only when every required test of "
                                "the lab passes",
                          "ru": "Пройден, но не засчитан: бонусные баллы засчитываются, только когда пройдены "
                                "все обязательные тесты лабораторной"},
    # The score table at the end of a grader run (chatlab.grading.plugin; its numbers of points and tests are
    # plurals, in the gettext catalog: rubric.score_text, plugin.points_text).
    "row-failed": {"en": "failed", "ru": "не пройден"},
    "row-bonus-not-earned": {"en": "bonus not earned", "ru": "бонус не получен"},
    "row-not-checkable": {"en": "not checkable here", "ru": "здесь не проверяется"},
    "grade": {"en": "Assignment grade: {grade} % (best lab: {lab}; rubric weights: {weights})",
              "ru": "Оценка за задание: {grade} % (лучшая лабораторная: {lab}; веса лабораторных: {weights})"},
    "grade-sum": {"en": "Assignment grade: {grade} % (the labs added up: {lab}; rubric weights: {weights})",
                  "ru": "Оценка за задание: {grade} % (сумма лабораторных: {lab}; веса лабораторных: {weights})"},
    "grade-none": {"en": "Assignment grade: 0 % (rubric weights: {weights})",
                   "ru": "Оценка за задание: 0 % (веса лабораторных: {weights})"},
    # A test that cannot make its check on this system (a skipped graded test), and why.
    "not-checkable": {"en": "Not checkable here", "ru": "Здесь не проверяется"},
    "not-checkable-sigint": {
        "en": "Ctrl+C reaches a program as the signal SIGINT only on POSIX systems (Linux, macOS); on Windows "
              "this check cannot be made: grade on Linux or macOS to earn its points",
        "ru": "Ctrl+C приходит к программе как сигнал SIGINT только в POSIX-системах (Linux, macOS); в Windows "
              "эту проверку выполнить нельзя: чтобы получить её баллы, запустите проверку в Linux или macOS"},
    # A lab's file that does not load (chatlab.grading.loading).
    "missing-file": {"en": "{file} is missing: the lab was not handed in",
                     "ru": "файла {file} нет: лабораторная не сдана"},
    "file-line": {"en": "{file} line {line}", "ru": "{file}, строка {line}"},
    "import-hangs": {"en": "importing it did not finish within {seconds} s",
                     "ru": "импорт не завершился за {seconds} с"},
    "import-exited": {"en": "importing it ended the process (exit code {code})",
                      "ru": "импорт завершил процесс (код выхода {code})"},
    "traceback-tail": {"en": "The end of the traceback", "ru": "Конец трассировки стека"},
    "not-run": {"en": "Not run", "ru": "Не запускался"},
    "does-not-load": {"en": "{file} does not load (see {test})", "ru": "{file} не загружается (см. {test})"},
    # The notebook's report (chatlab.notebook.check).
    "report-tests-passed": {"en": "{passed} of {total} tests passed", "ru": "пройдено тестов: {passed} из {total}"},
    "report-worth": {"en": "as the assignment's chat: {grade} % (this lab counts {weight})",
                     "ru": "как чат задания: {grade} % (вес лабораторной: {weight})"},
    "report-warm-up": {"en": "a warm-up: it counts for nothing by itself",
                       "ru": "разминка: сама по себе в оценку не входит"},
    "report-details": {"en": "steps and output", "ru": "шаги и вывод"},
    "report-test": {"en": "test", "ru": "тест"},
    "report-points": {"en": "points", "ru": "баллы"},
    "report-bonus": {"en": "bonus", "ru": "бонус"},
    # The notebook helpers' own words (chatlab.notebook.language.words).
    "todo-header": {"en": "| | file:line | function | what to write |",
                    "ru": "| | файл:строка | функция | что написать |"},
    "todo-done": {"en": "✅ written", "ru": "✅ написано"},
    "todo-left": {"en": "⬜ to do", "ru": "⬜ сделать"},
    "not-graded": {"en": "not graded", "ru": "не проверена"},
    "sequence-title": {"en": "What the server received (blue) and sent (orange), one arrow per call",
                       "ru": "Что сервер получил (синие) и отправил (оранжевые), одна стрелка на вызов"},
    "timeline-title": {"en": "Which server thread handled which line",
                       "ru": "Какой поток сервера обработал какую строку"},
    "timeline-axis": {"en": "milliseconds since the tap started   (o received, > sent)",
                      "ru": "миллисекунды от начала перехвата   (o получено, > отправлено)"},
    "timeline-from": {"en": "from", "ru": "от"},
    "timeline-to": {"en": "to", "ru": "к"},
}


def hint(key: str, lang: str = "en") -> str:
    entry = HINTS[key]
    return entry.get(lang) or entry["en"]


def label(key: str, lang: str = "en") -> str:
    entry = LABELS[key]
    return entry.get(lang) or entry["en"]


def diagnosis_text(key: str, lang: str = "en") -> str:
    entry = DIAGNOSES[key]
    return entry.get(lang) or entry["en"]


def feature(key: str, lang: str = "en") -> str:
    entry = FEATURES[key]
    return entry.get(lang) or entry["en"]
