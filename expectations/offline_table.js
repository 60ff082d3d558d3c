/*
 * Plain tables for GX Data Docs opened with no network (expectations/offline_docs.py copies this file into the
 * docs site). GX's pages hand their tables to the bootstrap-table jQuery plugin, which no PyPI package ships:
 * this stand-in, written for this project, takes the same call, $(table).bootstrapTable({columns, data, ...}),
 * and renders a Bootstrap-styled table: headers from the columns, one row per record (GX gives cells as HTML),
 * sortable columns, a search box, pages of 25 rows, and GX's row links (rowAttributes / click-row.bs.table).
 * Filter controls and date pickers of the real plugin are left out.
 */
(function ($) {
  "use strict";
  if (!$ || $.fn.bootstrapTable) {
    return;
  }
  var PAGE_SIZE = 25;
  var KEY = "offlineTable";

  function named(value) {
    if (typeof value === "function") {
      return value;
    }
    return typeof value === "string" && typeof window[value] === "function" ? window[value] : null;
  }

  function truthy(value) {
    return value === true || value === "true";
  }

  function plainText(value) {
    if (value === null || value === undefined) {
      return "";
    }
    return $("<div>").html(String(value)).text().replace(/\s+/g, " ").trim();
  }

  function sortKey(row, column) {
    var value = row[column.sortName || column.field];
    if (typeof value === "number") {
      return value;
    }
    return plainText(value).toLowerCase();
  }

  function Table($table, options) {
    this.$table = $table;
    this.options = options;
    this.columns = options.columns || [];
    this.rows = (options.data || []).slice();
    this.query = "";
    this.page = 0;
    this.sortField = options.sortName || null;
    this.sortOrder = options.sortOrder === "desc" ? "desc" : "asc";
    this.paginate = truthy(options.pagination);
    this.build();
    this.render();
  }

  Table.prototype.column = function (field) {
    for (var i = 0; i < this.columns.length; i += 1) {
      if (this.columns[i].field === field || this.columns[i].sortName === field) {
        return this.columns[i];
      }
    }
    return {field: field};
  };

  Table.prototype.build = function () {
    var self = this;
    var $table = this.$table;
    $table.empty().addClass("table table-sm table-hover offline-table");
    var $head = $("<tr>");
    $.each(this.columns, function (_, column) {
      var $th = $("<th>").attr("scope", "col").attr("data-field", column.field).text(column.title || column.field);
      if (column.align) {
        $th.css("text-align", column.align);
      }
      if (truthy(column.sortable)) {
        $th.css("cursor", "pointer").attr("title", "Sort").on("click", function () {
          var field = column.field;
          var current = self.sortField && self.column(self.sortField) === column;
          self.sortOrder = current && self.sortOrder === "asc" ? "desc" : "asc";
          self.sortField = field;
          self.page = 0;
          self.render();
        });
      }
      $head.append($th);
    });
    $table.append($("<thead>").append($head)).append("<tbody>");
    if (truthy(this.options.search)) {
      var $toolbar = this.options.toolbar ? $(this.options.toolbar) : $();
      var $search = $("<input type='search' class='form-control form-control-sm d-inline-block ml-1' " +
        "placeholder='Search' aria-label='Search' style='width: 16em'>");
      $search.on("input", function () {
        self.query = $search.val().toLowerCase();
        self.page = 0;
        self.render();
      });
      if ($toolbar.length) {
        $toolbar.append($search);
      } else {
        $table.before($search);
      }
      this.$search = $search;
    }
    if (this.paginate) {
      this.$pager = $("<div class='d-flex align-items-center small my-2 offline-table-pager'>");
      $table.after(this.$pager);
    }
  };

  Table.prototype.visibleRows = function () {
    var self = this;
    var rows = this.rows;
    if (this.query) {
      rows = $.grep(rows, function (row) {
        return $.grep(self.columns, function (column) {
          return plainText(row[column.field]).toLowerCase().indexOf(self.query) >= 0;
        }).length > 0;
      });
    }
    if (this.sortField) {
      var column = this.column(this.sortField);
      var direction = this.sortOrder === "desc" ? -1 : 1;
      rows = rows.slice().sort(function (a, b) {
        var left = sortKey(a, column);
        var right = sortKey(b, column);
        return left < right ? -direction : left > right ? direction : 0;
      });
    }
    return rows;
  };

  Table.prototype.render = function () {
    var self = this;
    var rows = this.visibleRows();
    var pages = this.paginate ? Math.max(1, Math.ceil(rows.length / PAGE_SIZE)) : 1;
    this.page = Math.min(this.page, pages - 1);
    var shown = this.paginate ? rows.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE) : rows;
    var rowAttributes = named(this.options.rowAttributes);
    var rowStyle = named(this.options.rowStyle);
    var $body = this.$table.children("tbody").empty();
    $.each(shown, function (index, row) {
      var $tr = $("<tr>");
      if (rowAttributes) {
        $.each(rowAttributes(row, index) || {}, function (name, value) {
          $tr.attr(name, value);
        });
      }
      if (rowStyle) {
        var style = rowStyle(row, index) || {};
        if (style.classes) {
          $tr.addClass(style.classes);
        }
        if (style.css) {
          $tr.css(style.css);
        }
      }
      $.each(self.columns, function (_, column) {
        var value = row[column.field];
        var $td = $("<td>").html(value === null || value === undefined ? "" : String(value));
        if (column.align) {
          $td.css("text-align", column.align);
        }
        $tr.append($td);
      });
      $tr.on("click", function (event) {
        if ($(event.target).closest("a, button, input").length === 0) {
          self.$table.trigger("click-row.bs.table", [row, $tr, null]);
        }
      });
      $body.append($tr);
    });
    if (!shown.length) {
      $body.append($("<tr>").append($("<td class='text-muted'>").attr("colspan", this.columns.length || 1)
        .text("No matching records")));
    }
    this.$table.find("th").each(function () {
      var $th = $(this);
      var field = $th.attr("data-field");
      var sorted = self.sortField && self.column(self.sortField).field === field;
      $th.find(".offline-table-order").remove();
      if (sorted) {
        $th.append($("<span class='offline-table-order ml-1'>").text(self.sortOrder === "desc" ? "\u25BC" : "\u25B2"));
      }
    });
    if (this.$pager) {
      var first = rows.length ? this.page * PAGE_SIZE + 1 : 0;
      var last = Math.min(rows.length, (this.page + 1) * PAGE_SIZE);
      var $previous = $("<button type='button' class='btn btn-sm btn-outline-secondary mr-1'>").text("Previous")
        .prop("disabled", this.page === 0).on("click", function () { self.page -= 1; self.render(); });
      var $next = $("<button type='button' class='btn btn-sm btn-outline-secondary ml-1'>").text("Next")
        .prop("disabled", this.page >= pages - 1).on("click", function () { self.page += 1; self.render(); });
      this.$pager.empty().append($("<span class='mr-auto'>")
        .text("Showing " + first + " to " + last + " of " + rows.length + " rows"))
        .append($previous).append($("<span>").text("Page " + (this.page + 1) + " of " + pages)).append($next);
    }
  };

  Table.prototype.reset = function () {
    this.query = "";
    if (this.$search) {
      this.$search.val("");
    }
    this.page = 0;
    this.render();
  };

  $.fn.bootstrapTable = function (options) {
    if (typeof options === "string") {
      // methods GX's pages call: clearing the search and the filters
      return this.each(function () {
        var table = $(this).data(KEY);
        if (table && (options === "resetSearch" || options === "clearFilterControl")) {
          table.reset();
        }
      });
    }
    return this.each(function () {
      $(this).data(KEY, new Table($(this), options || {}));
    });
  };
}(window.jQuery));
