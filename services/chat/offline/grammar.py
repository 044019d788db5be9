"""The offline engine's vocabulary: the sentence patterns of each intent, as plain regexes.

``parser.RULES`` tries these tables in order (case-insensitive). Named groups carry the
pieces a builder needs: ``target`` (which task), ``value`` (the new title/priority/date),
``rest`` (the words of a new task), ``pre`` (a date said before "remind me").
To teach the engine a new phrasing, add a pattern to the right table and a case to
tests/unit/test_offline_parser.py.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

# -- tidying --------------------------------------------------------------------------

LEAD_IN = re.compile(
    r"^(?:please|pls|plz|ok(?:ay)?|so|and|also|now|oops|whoops|oh|um+|uh+|well|alright|hi|hey|"
    r"hello|assistant|can\s+you|could\s+you|would\s+you|will\s+you|can\s+u|"
    r"kindly|go\s+ahead\s+and|i'?d\s+like\s+you\s+to|i\s+want\s+you\s+to)\b[,\s]+(?=\S)",
    _I,
)
# Each alternative starts right after a word, so a long run of commas is scanned once.
TAIL = re.compile(
    r"(?<![,\s])(?:[,\s]+(?:please|pls|plz|thanks|thank\s+you|thx|for\s+me))+$"
    r"|(?:^|(?<![\s.!?]))[\s.!?]+$",
    _I,
)

# -- conversation ---------------------------------------------------------------------

THANKS = (
    r"^(?:thanks|thank\s+you|thx|ty|cheers|great|perfect|awesome|cool|nice|ok(?:ay)?|got\s+it|"
    r"good|sounds\s+good|that'?s\s+all|all\s+good|all\s+done)(?:[,!\s]+(?:so\s+much|a\s+lot|very\s+much|"
    r"you|thanks|thank\s+you))*$",
)
CANCEL = (
    r"^(?:never\s*mind|cancel|cancel\s+that|forget\s+it|none|neither|neither\s+one|no|nope|"
    r"nothing|leave\s+it|stop)$",
)
GREETING = (
    r"^(?:hi|hello|hey|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening))"
    r"(?:\s+(?:there|assistant|bot))?$",
)
HELP = (
    r"^(?:help|help\s+me|\?+|commands|menu|options|instructions|usage|who\s+are\s+you|"
    r"what\s+are\s+you|what\s+can\s+(?:you|i)\s+(?:do|say|ask)(?:\s+(?:for\s+me|here|with\s+you))?|"
    r"what\s+(?:do|can)\s+you\s+help\s+(?:me\s+)?with|what\s+do\s+you\s+do|"
    r"how\s+(?:does\s+(?:this|it)\s+work|do\s+i\s+use\s+(?:this|you)|can\s+you\s+help(?:\s+me)?))$",
)
UNDO = (
    r"^(?:undo|revert|reverse|roll\s*back)(?:\s+(?:that|it|this|(?:the|my)\s+(?:last\s+)?(?:one|"
    r"action|change|step|delete|deletion|completion)|what\s+you\s+(?:just\s+)?did))?$",
    r"^(?:bring|put)\s+(?:it|that|this)\s+back$",
    r"^(?:never\s*mind|my\s+bad)[,\s]+(?:undo|restore|bring\s+it\s+back|put\s+it\s+back)"
    r"(?:\s+(?:it|that))?$",
)
CHOOSE = (
    r"^(?:(?:it'?s|it\s+is|i\s+mean|i\s+meant|choose|pick|select|go\s+with|take)\s+)?(?:the\s+)?"
    r"(?:(?:task|number|no\.?|#)\s*#?\s*(?P<number>\d+)|(?P<bare>\d+)|(?P<ordinal>first|second|"
    r"third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|\d+(?:st|nd|rd|th)))"
    r"(?:\s+(?:one|task|option|choice))?$",
)
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
}

# -- listing --------------------------------------------------------------------------

_LIST_WORDS = (
    r"(?=.*(?:#[a-z]|\b(?:tasks?|todos?|to-?dos?|list|pending|open|left|remaining|outstanding|done|"
    r"completed?|finish(?:ed)?|accomplished|due|overdue|priority|urgent|everything|agenda|"
    r"on\s+my\s+plate|to\s+do|items?)\b))"
)
LIST = (
    r"^(?:show|list|display|view|see|give|get(?!\s+rid)|tell|print|fetch|pull\s+up)\b"
    + _LIST_WORDS,
    r"^(?:what|what'?s|what\s+is|what\s+are|which|how\s+many|do\s+i\s+have|have\s+i|did\s+i|"
    r"is\s+there|are\s+there|any|anything)\b" + _LIST_WORDS,
    # "what's late", "is anything past due": a question that is only that
    r"^(?:what'?s|what\s+is|what\s+are|is\s+anything|are\s+any|anything|any)\s+"
    r"(?:(?:of\s+)?(?:my\s+)?(?:tasks?|todos?)\s+)?(?:late|overdue|past\s+due)$",
    r"^(?:my\s+|all\s+(?:my\s+)?)?(?:pending\s+|open\s+|completed\s+|done\s+|finished\s+|"
    r"overdue\s+|urgent\s+|(?:high|low)\s+priority\s+)?(?:tasks|todos|to-?dos|(?:to-?do\s+)?list)$",
    r"^(?:pending|completed|overdue|everything)$",
)
PENDING_WORDS = re.compile(
    r"\b(?:pending|open|left|remaining|outstanding|incomplete|unfinished|uncompleted|"
    r"not\s+(?:yet\s+)?(?:done|completed|finished)|to\s+do|still|active|undone|overdue)\b",
    _I,
)
COMPLETED_WORDS = re.compile(
    r"\b(?:completed?|done|finish(?:ed)?|accomplished|achieved|(?:ticked|checked)\s+off)\b", _I
)
OVERDUE = re.compile(r"\b(?:overdue|late|past\s+due|missed)\b", _I)
# "what do I have tomorrow": a day's agenda without a word saying tasks; ``rest`` must be a
# date phrase (with a few words around it) or nothing.
AGENDA = (r"^what(?:\s+do\s+i\s+have|\s+have\s+i\s+got|\s+is\s+on|'?s\s+on)\b(?P<rest>.*)$",)
AGENDA_WORDS = re.compile(
    r"\b(?:planned|scheduled|lined\s+up|coming\s+up|going\s+on|on|for|up)\b", _I
)

# -- changing a task ------------------------------------------------------------------

_TARGET = r"(?P<target>.+?)"
# A sentence that starts with its task ("task 3 is done") must not start with another verb.
_FIRST = r"^(?!(?:add|create|new|remind|remember|put|schedule|todo|i|i'm|please)\b)"
_LEVEL = (
    r"(?P<value>(?:an?\s+|the\s+)?(?:high|low|medium|normal|top|urgent|important|asap|due)\b.*)$"
)
MAKE = (
    rf"^(?:make|mark|flag)\s+{_TARGET}\s+(?:as\s+|to\s+|be\s+)?{_LEVEL}",
    r"^(?P<target>(?:task\s+)?#?\d+)\s+(?:is|should\s+be|must\s+be)\s+(?:now\s+)?" + _LEVEL,
)
PRIORITISE = (rf"^(?:prioriti[sz]e|escalate)\s+{_TARGET}$",)
# "make task 3 repeat weekly", "stop repeating task 3", "skip task 3".
_REPEATS = r"(?:repeat|recur)(?:s|ring)?"
REPEAT = (
    rf"^(?:make|set|have|let)\s+{_TARGET}\s+{_REPEATS}\s+(?P<value>.+)$",
    rf"{_FIRST}{_TARGET}\s+(?:should\s+|must\s+|will\s+)?{_REPEATS}\s+(?P<value>.+)$",
    rf"^{_REPEATS}\s+{_TARGET}\s+(?P<value>(?:every|each|daily|weekly|monthly|yearly|annually|on)\b.*)$",
)
STOP_REPEAT = (
    rf"^(?:stop|quit|end)\s+(?:repeating|recurring|the\s+series\s+of)\s+{_TARGET}$",
    rf"^stop\s+{_TARGET}\s+(?:from\s+)?(?:repeating|recurring)$",
    rf"^(?:don'?t|do\s+not|no\s+longer)\s+repeat\s+{_TARGET}(?:\s+any\s*more)?$",
    rf"{_FIRST}{_TARGET}\s+(?:should\s+)?(?:stop\s+repeating|not\s+repeat|no\s+longer\s+repeats?)$",
)
# "remind me about task 2 tomorrow at 9", "remind me 30 minutes before".
_AHEAD = (
    r"(?P<ahead>(?:\d{1,4}|an?|one|two|three|half\s+an)\s*(?:minutes?|mins?|hours?|hrs?|days?|"
    r"weeks?)|half\s+an\s+hour)"
)
BEFORE = re.compile(
    rf"\b(?:and\s+|,\s*)?remind\s+me\s+{_AHEAD}\s+(?:before|ahead|earlier)"
    r"(?:\s+(?:it(?:'s|\s+is)?\s+due|it|that|the\s+deadline|hand))?\b",
    _I,
)
_BEFORE_WORD = r"(?:before|ahead\s+of|prior\s+to)"
_IS_DUE = r"(?:\s*(?:'s|\s+is)\s+due|\s+(?:is\s+)?due)?"
REMIND = (
    rf"^remind\s+me\s+(?:about|of)\s+{_TARGET}\s+(?P<value>(?:at|on|in|tomorrow|today|tonight|"
    rf"next|this)\b.*)$",
    rf"^remind\s+me\s+{_AHEAD}\s+(?:before|ahead|earlier)"
    r"(?:\s+(?:it(?:'s|\s+is)?\s+due|that|it))?$",
    # "remind me 30 minutes before task 2", "remind me about task 2 an hour before".
    rf"^remind\s+me\s+{_AHEAD}\s+{_BEFORE_WORD}\s+(?!to\b){_TARGET}{_IS_DUE}$",
    rf"^remind\s+me\s+(?:about|of)\s+{_TARGET}\s+{_AHEAD}\s+(?:before|ahead|earlier)"
    rf"(?:\s+(?:it|that){_IS_DUE}|\s+the\s+deadline)?$",
)
# "remind me an hour before the dentist on friday at 10": a task to add, due then, with its
# reminder (``parser._add_reminded``); without a date phrase it names a task (REMIND).
REMIND_NEW = (rf"^remind\s+me\s+{_AHEAD}\s+{_BEFORE_WORD}\s+(?!to\b|it\b|task\s+\d)(?P<what>.+)$",)
# "skip the next occurrence of task 3", "skip this week's task 3", "skip the next one".
_OCCURRENCE = (
    r"(?:the\s+|its\s+)?(?:next|upcoming|coming|current)\s+"
    r"(?:occurrence|one|instance|time|repetition|recurrence)"
)
SKIP = (
    rf"^skip\s+{_OCCURRENCE}(?:\s+(?:of|for)\s+{_TARGET})?$",
    rf"^skip\s+this\s+(?:week|month|year)'s\s+{_TARGET}$",
    rf"^skip\s+{_TARGET}(?:'s\s+{_OCCURRENCE}|\s+(?:this|next)\s+(?:time|once|week|month|one))?$",
)
DEPRIORITISE = (rf"^(?:de-?prioriti[sz]e|lower\s+the\s+priority\s+of)\s+{_TARGET}$",)
_FIELD = r"(?P<field>title|name|priority|due\s+date|due|deadline|date|time)"
UPDATE = (
    rf"^(?:rename|retitle|re-?name|re-?title)\s+{_TARGET}\s+(?:to|as|into)\s+(?P<rename>)(?P<value>.+)$",
    rf"^(?:change|update|edit|set|modify|reset)\s+(?:the\s+)?{_FIELD}\s+(?:of|for|on)\s+{_TARGET}"
    r"\s+(?:to|into|as)\s+(?P<value>.+)$",
    rf"^(?:change|update|edit|set|modify|reset)\s+{_TARGET}(?:'s)?\s+{_FIELD}\s+(?:to|into|as)\s+"
    r"(?P<value>.+)$",
    rf"^(?:change|update|edit|set|modify|turn|switch)\s+{_TARGET}\s+(?:to|into|as)\s+(?P<value>.+)$",
    rf"^(?:change|update|edit|rename)\s+{_TARGET}\s*:\s*(?P<rename>)(?P<value>.+?)(?:\s+instead)?$",
    rf"^(?P<move>move|reschedule|postpone|push(?:\s+back)?|delay|defer|shift|bump)\s+{_TARGET}\s+"
    r"(?:to|until|till|for|back\s+to|out\s+to)\s+(?P<value>.+)$",
    r"^(?P<target>(?:task\s+)?#?\d+)\s+(?:is\s+|should\s+be\s+)?(?:now\s+)?(?P<move>due)\s+"
    r"(?P<value>.+)$",
)
TAG = (
    rf"^(?:tag|label)\s+{_TARGET}\s+(?:with|as)\s+(?:the\s+)?(?:tags?\s+)?(?P<tags>.+)$",
    rf"^add\s+(?:the\s+)?(?:tags?|labels?)\s+(?P<tags>.+?)\s+to\s+{_TARGET}$",
    # Possessive: the spaces around a separator can only be read one way (no backtracking).
    rf"^add\s+(?P<tags>#[\w-]++(?:\s*+(?:,|and|&)?+\s*+#[\w-]++)*+)\s+to\s+{_TARGET}$",
)
_DONE = r"(?:done|complete|completed|finished)"
REOPEN = (
    rf"^(?:re-?open|un-?complete|un-?finish|un-?check|un-?tick|restart|reactivate)\s+{_TARGET}"
    r"(?:\s+again)?$",
    rf"^open\s+{_TARGET}\s+again$",
    rf"^(?:mark|set|flag|move|put|turn)\s+{_TARGET}\s+(?:as\s+|to\s+|back\s+to\s+|back\s+as\s+)?"
    rf"(?:not\s+(?:yet\s+)?{_DONE}|undone|incomplete|uncompleted|unfinished|pending|open|active|"
    r"to\s*do)$",
    rf"{_FIRST}{_TARGET}\s+(?:isn'?t|is\s+not|wasn'?t|was\s+not)\s+(?:actually\s+|really\s+)?{_DONE}"
    r"(?:\s+(?:yet|after\s+all))?$",
    r"^i\s+(?:didn'?t|did\s+not|haven'?t|have\s+not|never)\s+(?:actually\s+|really\s+)?"
    rf"(?:finish(?:ed)?|complete(?:d)?|do|done)\s+{_TARGET}(?:\s+(?:yet|after\s+all))?$",
)
COMPLETE = (
    rf"^(?:mark|set|flag|check|tick|cross)\s+(?:off\s+)?{_TARGET}\s+(?:as\s+|to\s+)?"
    r"(?:done|complete|completed|finished|checked|off|ticked(?:\s+off)?)$",
    r"^(?:complete|finish|close|check\s+off|tick\s+off|cross\s+off|done\s+with|finished|completed|"
    rf"done)\s+{_TARGET}$",
    r"^i(?:'ve|\s+have)?\s+(?:just\s+|already\s+|finally\s+)?(?:finished|completed|done|did|"
    rf"ticked\s+off|checked\s+off|crossed\s+off)\s+(?:with\s+)?{_TARGET}$",
    rf"^i(?:'m|\s+am)\s+(?:all\s+)?(?:done|finished|through)\s+with\s+{_TARGET}$",
    rf"{_FIRST}{_TARGET}\s+(?:is|are|was|has\s+been|'s)\s+(?:now\s+|all\s+|finally\s+)?{_DONE}$",
    rf"{_FIRST}{_TARGET}\s*[,:-]?\s+(?:complete|completed|done|finished|mark\s+(?:it\s+)?(?:as\s+)?done)$",
)
DELETE = (
    r"^(?:delete|remove|erase|trash|drop|cancel|discard|scrap|ditch|get\s+rid\s+of|"
    rf"throw\s+(?:away|out)|forget\s+about|nuke)\s+{_TARGET}$",
    rf"{_FIRST}{_TARGET}\s*[,:-]?\s+(?:delete|remove|erase|trash)(?:\s+(?:it|that|this))?$",
)
# "clear all completed tasks": the one change made to many tasks at once (undo reverts it).
CLEAR_COMPLETED = (
    r"^(?:clear|delete|remove|erase|purge|trash|archive|clean\s+up|get\s+rid\s+of)\s+(?:out\s+)?"
    r"(?:all\s+)?(?:of\s+)?(?:the\s+|my\s+)?(?:completed|done|finished|checked[\s-]off)"
    r"(?:\s+(?:tasks?|todos?|items?|ones|stuff))?$",
    r"^(?:clear|clean\s+up|tidy\s+up)\s+(?:out\s+)?(?:the\s+|my\s+)?(?:completed|done|finished)"
    r"\s+(?:list|section)$",
)
# "delete all my tasks": answered, but never done in one go.
BULK = re.compile(r"^(?:all|every|everything|each)\b", _I)
RESTORE = (
    rf"^(?:restore|undelete|un-delete|recover|bring\s+back|retrieve)\s+{_TARGET}$",
    rf"^bring\s+{_TARGET}\s+back$",
)

# -- adding ---------------------------------------------------------------------------

ADD = (
    r"^(?P<pre>.*?)\b(?:i\s+(?:want|need|would\s+like|'d\s+like)\s+to\s+)?(?:add|create|insert|"
    r"save|record|schedule|set\s+up|jot\s+down|write\s+down|note\s+down|log|put)\s+(?P<rest>.+)$",
    r"^(?P<pre>.*?)\b(?:remind\s+me|(?:i\s+(?:need|have|want|must|should|gotta)\s+to\s+)?remember"
    r"|don'?t\s+(?:let\s+me\s+)?forget|i\s+(?:must|should)\s+not\s+forget|i\s+shouldn'?t\s+forget"
    r"|note\s+to\s+self)\s*(?:to|that|about|of|:|-)?\s+(?P<rest>.+)$",
    r"^(?:make|new)\s+(?P<rest>(?:an?\s+)?(?:new\s+)?(?:task|todo|to-do|reminder)\b.*)$",
    r"^(?:i\s+(?:need|have|must|should|gotta|want)\s+to|i\s+have\s+got\s+to|i(?:'ve)?\s+got\s+to|"
    r"i'?ll\s+need\s+to|i\s+(?:should|must)(?!\s+not\b)|todo|to-?do|task\s*:)\s*:?\s+(?P<rest>.+)$",
)
# A new task's title cannot be only a reference to another task ("add task 3").
ONLY_A_NUMBER = re.compile(r"^(?:task\s*)?#?\d+$", _I)
TASK_HEAD = re.compile(
    r"^(?:(?:a|an|the|one|another)\s+)?(?:new\s+|quick\s+)?(?:task|todo|to-do|item|reminder|entry)"
    r"s?\b(?:\s*(?::|to|for|about|called|named|titled|that\s+says|saying|reading)\b)?\s*:?\s*",
    _I,
)
TO_MY_LIST = re.compile(
    r"\b(?:to|on|onto|in|into)\s+(?:my|the)\s+(?:todo\s+|to-do\s+|task\s+|shopping\s+)?"
    r"(?:list|tasks|todos)\b",
    _I,
)
