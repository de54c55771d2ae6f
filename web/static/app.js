// PeruQA chat: upgrades the server-rendered form to POST /ask without reloads.
// Untrusted text (questions, passages) only ever goes in through textContent.
(function () {
  "use strict";

  var form = document.getElementById("ask-form");
  var thread = document.getElementById("thread");
  if (!form || !thread) {
    return; // the document page needs no script
  }
  var input = document.getElementById("question");
  var button = document.getElementById("ask-button");
  var status = document.getElementById("status");
  var turnTemplate = document.getElementById("turn-template");
  var cardTemplate = document.getElementById("card-template");
  var newTopic = document.getElementById("new-topic-form");
  var text = thread.dataset;
  var historyTurns = Number(text.historyTurns) || 0;
  var busy = false;

  function clone(template) {
    return template.content.firstElementChild.cloneNode(true);
  }

  // Puts `value` into `element`, with <mark> around [start, end) when that range is valid.
  function fillMarked(element, value, start, end) {
    element.textContent = "";
    if (typeof start === "number" && start >= 0 && end > start && end <= value.length) {
      var mark = document.createElement("mark");
      mark.textContent = value.slice(start, end);
      element.append(value.slice(0, start), mark, value.slice(end));
    } else {
      element.textContent = value;
    }
  }

  function card(citation, number) {
    var item = clone(cardTemplate);
    item.querySelector(".cite-link").href =
      "/documents/" + encodeURIComponent(citation.doc_id) +
      "?start=" + citation.start + "&end=" + citation.end + "#passage";
    item.querySelector(".cite-num").textContent = String(number);
    item.querySelector(".cite-title").textContent = citation.title;
    var page = citation.page ? " · " + text.page + " " + citation.page : "";
    // Text read by OCR may hold recognition errors: say where it came from.
    if (citation.ocr) page += " · " + text.ocr;
    item.querySelector(".cite-publisher").textContent =
      (citation.publisher || text.noPublisher) + page;
    var passage = item.querySelector(".cite-passage");
    if (citation.language) {
      passage.lang = citation.language;
    }
    fillMarked(passage, citation.text, citation.quote_start, citation.quote_end);
    return item;
  }

  // The thread's last answered turns, oldest first, as /ask takes them: the server keeps
  // no conversation, so each question brings the turns it may follow on from.
  function history() {
    var answered = thread.querySelectorAll(".turn[data-question]");
    var turns = Array.prototype.slice.call(answered, Math.max(answered.length - historyTurns, 0));
    return turns.map(function (turn) {
      var earlier = { question: turn.dataset.question };
      if (turn.dataset.answer) {
        earlier.answer = turn.dataset.answer;
      }
      return earlier;
    });
  }

  // One line saying what a follow-up was read with ("Read as a question about Diakonia").
  function carriedLine(context) {
    if (context.question) {
      // A function, so that "$&" in a visitor's words stays as typed.
      return text.readAs.replace("{question}", function () {
        return context.question;
      });
    }
    return text.readAbout.replace("{names}", function () {
      return context.carried.join(", ");
    });
  }

  function showAnswer(turn, data) {
    var cards = data.citations;
    if (data.context) {
      var carried = turn.querySelector(".carried");
      carried.textContent = carriedLine(data.context);
      carried.hidden = false;
    }
    if (data.abstained) {
      turn.querySelector(".abstained").hidden = false;
      cards = data.related;
    } else {
      var quote = turn.querySelector(".quote");
      if (data.answer_language) {
        quote.lang = data.answer_language;
      }
      var mark = data.highlight || {};
      fillMarked(quote, data.answer, mark.start, mark.end);
      quote.hidden = false;
      // Say so when the quote is in another language than the page: it is never translated.
      var quotedIn = JSON.parse(text.quotedIn || "{}")[data.answer_language];
      if (quotedIn && data.answer_language !== text.lang) {
        var note = turn.querySelector(".quote-lang");
        note.textContent = quotedIn;
        note.hidden = false;
      }
    }
    if (cards.length) {
      var label = turn.querySelector(".cards-label");
      label.textContent = data.abstained ? text.related : text.sources;
      label.hidden = false;
      var list = turn.querySelector(".citations");
      list.classList.toggle("related", data.abstained);
      cards.forEach(function (citation, index) {
        list.append(card(citation, index + 1));
      });
      list.hidden = false;
    }
    if (data.notice) {
      var notice = turn.querySelector(".notice");
      notice.textContent = data.notice;
      notice.hidden = false;
    }
    var feedback = turn.querySelector(".feedback");
    feedback.elements.question.value = data.question;
    feedback.elements.answer.value = data.answer;
    // What the answer rested on, for the maintainers' report.
    feedback.dataset.docId = data.citations.length ? data.citations[0].doc_id : "";
    feedback.dataset.confidence = String(data.confidence);
    feedback.hidden = false;
    // Only answered turns join the history of the next question.
    turn.dataset.question = data.question;
    turn.dataset.answer = data.abstained ? "" : data.answer;
    if (newTopic) {
      newTopic.hidden = false;
    }
  }

  function showError(turn, message) {
    var error = turn.querySelector(".msg-a .error");
    error.textContent = message;
    error.hidden = false;
    turn.querySelector(".feedback").remove();
  }

  function ask(question) {
    question = question.trim();
    if (busy) {
      return;
    }
    if (!question) {
      status.textContent = text.empty;
      input.focus();
      return;
    }
    var earlier = history();
    busy = true;
    button.disabled = true;
    status.textContent = "";
    var turn = clone(turnTemplate);
    turn.querySelector(".q-text").textContent = question;
    turn.querySelector(".feedback").hidden = true;
    thread.append(turn);
    thread.setAttribute("aria-busy", "true");
    turn.scrollIntoView({ block: "nearest" });
    input.value = "";

    fetch("/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ question: question, history: earlier }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            showError(turn, text.error);
          } else {
            showAnswer(turn, body);
          }
        });
      })
      .catch(function () {
        showError(turn, text.network);
      })
      .finally(function () {
        var working = turn.querySelector(".working");
        if (working) {
          working.remove();
        }
        busy = false;
        button.disabled = false;
        thread.removeAttribute("aria-busy");
        turn.scrollIntoView({ block: "nearest" });
        input.focus();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    ask(input.value);
  });

  // "New topic" empties the thread in place; without script the form loads a fresh page.
  if (newTopic) {
    newTopic.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      thread.textContent = "";
      form.querySelectorAll("input[name=turn]").forEach(function (field) {
        field.remove();
      });
      newTopic.hidden = true;
      status.textContent = "";
      input.value = "";
      input.focus();
    });
  }

  document.querySelectorAll("a.example").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      ask(link.textContent);
    });
  });

  // Feedback forms, server-rendered or added later: one listener on the thread.
  thread.addEventListener("submit", function (event) {
    var feedback = event.target;
    if (!feedback.classList.contains("feedback")) {
      return;
    }
    event.preventDefault();
    var choice = event.submitter;
    var fields = feedback.elements;
    var payload = {
      question: fields.question.value,
      answer: fields.answer.value,
      helpful: !choice || choice.value === "1",
      reason: fields.reason.value || null,
      language: text.lang,
    };
    var docId = fields.doc_id ? fields.doc_id.value : feedback.dataset.docId;
    var confidence = fields.confidence ? fields.confidence.value : feedback.dataset.confidence;
    if (docId) {
      payload.doc_id = docId;
    }
    if (confidence) {
      payload.confidence = Number(confidence);
    }
    Array.prototype.forEach.call(feedback.querySelectorAll("button"), function (b) {
      b.disabled = true;
    });
    fetch("/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("feedback " + response.status);
        }
        var thanks = document.createElement("p");
        thanks.className = "thanks";
        thanks.setAttribute("role", "status");
        thanks.textContent = text.thanks;
        feedback.replaceWith(thanks);
      })
      .catch(function () {
        status.textContent = text.feedbackFailed;
        Array.prototype.forEach.call(feedback.querySelectorAll("button"), function (b) {
          b.disabled = false;
        });
      });
  });
})();
